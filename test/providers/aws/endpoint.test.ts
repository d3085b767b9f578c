/**
 * The container-credentials endpoint over real HTTP, with a broker on moto_server's STS: the
 * format the SDKs expect, the token check, and what the child learns when STS fails (nothing
 * but "ask the operator") versus what the audit gets.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AwsSessionBroker } from "../../../src/providers/aws/session-broker.js";
import { baseAwsEnv, TEST_ROLE, useMotoCredentialServer } from "../../helpers/aws.js";
import { startCredentialServer } from "../../helpers/credential-server.js";
import { type StsRecorder, startStsRecorder } from "../../helpers/sts-recorder.js";

process.env.AWS_EC2_METADATA_DISABLED = "true";
const ROLE = TEST_ROLE;
const fx = useMotoCredentialServer({ runId: "run-e1", durationSeconds: 900 });

async function get(url: string, headers: Record<string, string> = {}, method = "GET") {
  const r = await fetch(url, { method, headers });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

test("the right token gets the session in the container-credentials format", async () => {
  const before = fx.srv.audits.length;
  const r = await get(fx.srv.url, { authorization: fx.srv.token });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/json");
  assert.equal(r.headers.get("cache-control"), "no-store");
  const body = JSON.parse(r.text) as Record<string, string>;
  assert.deepEqual(Object.keys(body).sort(), ["AccessKeyId", "Expiration", "SecretAccessKey", "Token"]);
  assert.match(body.AccessKeyId!, /^ASIA/);
  assert.equal(new Date(body.Expiration!).toISOString(), body.Expiration);
  assert.ok(new Date(body.Expiration!).getTime() > Date.now() + 14 * 60_000);
  assert.deepEqual(fx.srv.audits.slice(before), [{ ok: true, status: 200 }]);
});

test("a missing or wrong token gets 401 with a generic body; the audit says which", async () => {
  const before = fx.srv.audits.length;
  const calls = fx.broker.stats().stsCalls;
  const cases: [Record<string, string>, string][] = [
    [{}, "missing Authorization token"],
    [{ authorization: `${fx.srv.token.slice(0, -1)}x` }, "wrong Authorization token"], // same length
    [{ authorization: `${fx.srv.token}x` }, "wrong Authorization token"],
    [{ authorization: `Bearer ${fx.srv.token}` }, "wrong Authorization token"],
    [{ authorization: "" }, "missing Authorization token"],
  ];
  for (const [headers] of cases) {
    const r = await get(fx.srv.url, headers);
    assert.equal(r.status, 401);
    assert.deepEqual(JSON.parse(r.text), { Code: "Unauthorized", Message: "not authorized" });
  }
  assert.deepEqual(
    fx.srv.audits.slice(before),
    cases.map(([, reason]) => ({ ok: false, reason, status: 401 })),
  );
  assert.equal(fx.broker.stats().stsCalls, calls, "a refused request never reaches STS");
});

test("other methods get 405", async () => {
  for (const method of ["POST", "PUT", "DELETE"]) {
    const r = await get(fx.srv.url, { authorization: fx.srv.token }, method);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get("allow"), "GET");
  }
});

test("when STS fails the child gets 502 and a neutral message; the audit gets the reason", async () => {
  const rec: StsRecorder = await startStsRecorder(fx.moto.endpoint);
  rec.fault = (c) =>
    c.Action === "AssumeRole"
      ? {
          status: 403,
          code: "AccessDenied",
          message: "secret-ish detail: trust policy of account 123456789012",
        }
      : undefined;
  const errors: Error[] = [];
  const failing = new AwsSessionBroker({
    grantName: "deploy",
    runId: "run-e2",
    config: { role: ROLE, durationSeconds: 900 },
    env: baseAwsEnv(fx.moto, rec.endpoint),
    onError: (e) => errors.push(e),
  });
  const s = await startCredentialServer(failing);
  try {
    const r = await get(s.url, { authorization: s.token });
    assert.equal(r.status, 502);
    const body = JSON.parse(r.text) as { Code: string; Message: string };
    assert.equal(body.Code, "CredentialsUnavailable");
    assert.match(body.Message, /could not obtain AWS credentials.*operator's audit log/);
    for (const leak of ["AccessDenied", "123456789012", "trust policy", ROLE])
      assert.ok(!r.text.includes(leak), leak);
    assert.equal(s.audits.length, 1);
    assert.equal(s.audits[0]?.ok, false);
    assert.equal(s.audits[0]?.status, 502);
    assert.match(
      s.audits[0]?.reason ?? "",
      /credentials unavailable: the trust policy of role .*agent does not let/,
    );
    assert.equal(errors.length, 1);
  } finally {
    await s.close();
    failing.close();
    await rec.close();
  }
});

test("keep-alive: many requests on one connection, each answered", async () => {
  const { Agent, get: httpGet } = await import("node:http");
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const one = () =>
      new Promise<number>((resolve, reject) => {
        httpGet(fx.srv.url, { agent, headers: { authorization: fx.srv.token } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        }).on("error", reject);
      });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await one());
    assert.deepEqual(new Set(statuses), new Set([200]));
  } finally {
    agent.destroy();
  }
});
