/**
 * The run's AWS session broker against moto_server's STS (through a recorder that shows what
 * went on the wire): session naming, SourceIdentity, caching, single flight, refresh on a clock
 * the test moves, and failures.
 */
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsGrantConfig } from "../../../src/providers/aws/grant.js";
import { type AwsIssueInfo, AwsSessionBroker } from "../../../src/providers/aws/session-broker.js";
import { AwsCredentialError } from "../../../src/providers/aws/sts.js";
import { baseAwsEnv, useMotoStsRecorder } from "../../helpers/aws.js";

process.env.AWS_EC2_METADATA_DISABLED = "true";
const ROLE = "arn:aws:iam::123456789012:role/agent";
const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::data/*" }],
});
const fx = useMotoStsRecorder();
beforeEach(() => {
  fx.rec.calls.length = 0;
  fx.rec.fault = undefined;
  fx.rec.delayMs = 0;
});

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...baseAwsEnv(fx.moto, fx.rec.endpoint), ...extra };
}

/** A clock the test moves; starts at the real time (STS's expirations are wall-clock times). */
function clock() {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}

function broker(
  extra: Partial<ConstructorParameters<typeof AwsSessionBroker>[0]> = {},
  config: Partial<AwsGrantConfig> = {},
) {
  const issued: AwsIssueInfo[] = [];
  const errors: Error[] = [];
  const b = new AwsSessionBroker({
    grantName: "deploy",
    runId: "r-7f3a",
    config: { role: ROLE, durationSeconds: 900, ...config },
    env: env(),
    onIssue: (i) => issued.push(i),
    onError: (e) => errors.push(e),
    ...extra,
  });
  return { b, issued, errors };
}

test("one AssumeRole per session: session name and SourceIdentity carry the run id, the policy is sent", async () => {
  const { b, issued } = broker({}, { policy: POLICY, externalId: "ext-9", durationSeconds: 1200 });
  try {
    const c = await b.get();
    assert.match(c.accessKeyId, /^ASIA/);
    assert.ok(c.secretAccessKey.length >= 20 && c.sessionToken.length > 20);
    const left = c.expiration.getTime() - Date.now();
    assert.ok(left > 1190_000 && left <= 1200_000, `expires in ${left} ms`);
    const [call, ...more] = fx.rec.assumeCalls();
    assert.equal(more.length, 0);
    assert.deepEqual(
      {
        RoleArn: call?.RoleArn,
        RoleSessionName: call?.RoleSessionName,
        SourceIdentity: call?.SourceIdentity,
        DurationSeconds: call?.DurationSeconds,
        ExternalId: call?.ExternalId,
        Policy: call?.Policy,
      },
      {
        RoleArn: ROLE,
        RoleSessionName: "enclave-r-7f3a",
        SourceIdentity: "enclave-r-7f3a",
        DurationSeconds: "1200",
        ExternalId: "ext-9",
        Policy: POLICY,
      },
    );
    // The audit record: who, what, until when — and no key material.
    assert.deepEqual(issued, [
      {
        grant: "deploy",
        role: ROLE,
        runId: "r-7f3a",
        sessionName: "enclave-r-7f3a",
        sourceIdentity: "enclave-r-7f3a",
        assumedRoleArn: "arn:aws:sts::123456789012:assumed-role/agent/enclave-r-7f3a",
        expiresAt: c.expiration.toISOString(),
      },
    ]);
    const again = await b.get();
    assert.equal(again.accessKeyId, c.accessKeyId);
    assert.deepEqual(b.stats(), { stsCalls: 1, served: 2 });
  } finally {
    b.close();
  }
});

test("the fingerprint hook sees the access key id; the audit record never holds a key", async () => {
  const { b, issued } = broker({ fingerprint: (id) => `fp:${id.length}` });
  try {
    const c = await b.get();
    assert.equal(issued[0]?.fingerprint, "fp:20");
    const text = JSON.stringify(issued);
    for (const v of [c.accessKeyId, c.secretAccessKey, c.sessionToken]) assert.ok(!text.includes(v));
  } finally {
    b.close();
  }
});

test("1,000 concurrent requests share one AssumeRole", async () => {
  fx.rec.delayMs = 100; // a slow STS: every caller arrives while the first call is in flight
  const { b } = broker();
  try {
    const all = await Promise.all(Array.from({ length: 1000 }, () => b.get()));
    assert.equal(new Set(all.map((c) => c.accessKeyId)).size, 1);
    assert.deepEqual(b.stats(), { stsCalls: 1, served: 1000 });
    assert.equal(fx.rec.assumeCalls().length, 1);
  } finally {
    b.close();
  }
});

test("a session is replaced when less than the refresh window remains, and only then", async () => {
  const t = clock();
  const { b, issued } = broker({ now: t.now });
  try {
    const first = await b.get();
    t.advance(9 * 60_000); // 15 min session: 6 min left, more than 5
    assert.equal((await b.get()).accessKeyId, first.accessKeyId);
    assert.equal(fx.rec.assumeCalls().length, 1);
    t.advance(61_000 + 1000); // under 5 min left
    const second = await b.get();
    assert.notEqual(second.accessKeyId, first.accessKeyId);
    assert.equal(fx.rec.assumeCalls().length, 2);
    // The new session's lifetime counts from its own issue time on the broker's clock.
    t.advance(9 * 60_000);
    assert.equal((await b.get()).accessKeyId, second.accessKeyId);
    t.advance(2 * 60_000);
    const third = await b.get();
    assert.notEqual(third.accessKeyId, second.accessKeyId);
    assert.equal(b.stats().stsCalls, 3);
    assert.equal(issued.length, 3);
    // Well past every expiry, a run that keeps asking keeps getting fresh sessions.
    t.advance(3 * 3600_000);
    assert.ok((await b.get()).expiration.getTime() > Date.now() + 14 * 60_000);
    assert.equal(b.stats().stsCalls, 4);
  } finally {
    b.close();
  }
});

test("refreshWindowMs is configurable", async () => {
  const t = clock();
  const { b } = broker({ now: t.now, refreshWindowMs: 14 * 60_000 });
  try {
    await b.get();
    t.advance(30_000);
    await b.get();
    assert.equal(b.stats().stsCalls, 1);
    t.advance(31_000); // 15 min − 61 s left: inside a 14 min window
    await b.get();
    assert.equal(b.stats().stsCalls, 2);
  } finally {
    b.close();
  }
});

test("a role that refuses SourceIdentity: retried once without it, and not asked for again", async () => {
  fx.rec.fault = (c) =>
    c.Action === "AssumeRole" && c.SourceIdentity
      ? { status: 403, code: "AccessDenied", message: "not authorized to perform: sts:SetSourceIdentity" }
      : undefined;
  const t = clock();
  const { b, issued, errors } = broker({ now: t.now });
  try {
    await b.get();
    t.advance(11 * 60_000);
    await b.get();
    assert.deepEqual(
      fx.rec.assumeCalls().map((c) => c.SourceIdentity ?? null),
      ["enclave-r-7f3a", null, null],
    );
    assert.equal(b.stats().stsCalls, 3);
    assert.equal(issued[0]?.sourceIdentity, undefined);
    assert.equal(errors.length, 0);
  } finally {
    b.close();
  }
});

test("a failed refresh serves the current session while it lasts, then fails with the reason", async () => {
  const t = clock();
  const { b, errors } = broker({ now: t.now });
  try {
    const first = await b.get();
    fx.rec.fault = (c) =>
      c.Action === "AssumeRole"
        ? { status: 403, code: "AccessDenied", message: "trust policy changed" }
        : undefined;
    t.advance(12 * 60_000); // 3 min left: refresh fails, the session still serves
    assert.equal((await b.get()).accessKeyId, first.accessKeyId);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /trust policy of role .*agent does not let/);
    t.advance(2 * 60_000 + 30_000); // 30 s left: not worth serving
    await assert.rejects(
      b.get(),
      (e: unknown) => e instanceof AwsCredentialError && e.code === "AccessDenied",
    );
    assert.equal(errors.length, 2);
    fx.rec.fault = undefined;
    assert.notEqual((await b.get()).accessKeyId, first.accessKeyId);
  } finally {
    b.close();
  }
});

test("concurrent callers of a failing AssumeRole share the one failure", async () => {
  fx.rec.fault = (c) =>
    c.Action === "AssumeRole" ? { status: 400, code: "ValidationError", message: "bad request" } : undefined;
  const { b, errors } = broker();
  try {
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => b.get()));
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.equal(errors.length, 1);
    assert.equal(fx.rec.assumeCalls().length, 1);
  } finally {
    b.close();
  }
});

test("run ids STS would refuse are made into a valid session name of at most 64 characters", async () => {
  const runId = `2026/11/23 run#${"x".repeat(80)}`;
  const { b } = broker({ runId });
  try {
    assert.equal(b.sessionName, `enclave-2026-11-23-run-${"x".repeat(41)}`);
    assert.equal(b.sessionName.length, 64);
    await b.get();
    assert.equal(fx.rec.assumeCalls()[0]?.RoleSessionName, b.sessionName);
  } finally {
    b.close();
  }
});

test("the SDK itself honours AWS_ENDPOINT_URL_STS (enclave also passes it explicitly)", async () => {
  const saved = process.env.AWS_ENDPOINT_URL_STS;
  process.env.AWS_ENDPOINT_URL_STS = fx.rec.endpoint;
  const sts = new STSClient({
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  try {
    const r = await sts.send(new GetCallerIdentityCommand({}));
    assert.match(r.Arn ?? "", /^arn:aws:sts::123456789012:/);
    assert.deepEqual(
      fx.rec.calls.map((c) => c.Action),
      ["GetCallerIdentity"],
    );
  } finally {
    sts.destroy();
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
    else process.env.AWS_ENDPOINT_URL_STS = saved;
  }
});

test("an injected STS client is used as is and left open", async () => {
  const sts = new STSClient({
    region: "us-east-1",
    endpoint: fx.rec.endpoint,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  const { b } = broker({ sts, env: {} });
  try {
    await b.get();
    assert.equal(fx.rec.assumeCalls().length, 1);
  } finally {
    b.close();
  }
  // still usable after the broker closed
  const { b: b2 } = broker({ sts, env: {} });
  await b2.get();
  b2.close();
  sts.destroy();
});

test("after close, get() fails and a session still in flight is dropped", async () => {
  fx.rec.delayMs = 150;
  const { b, issued } = broker();
  const pending = b.get();
  b.close();
  await assert.rejects(pending, /broker of grant "deploy" is closed/);
  await assert.rejects(b.get(), /is closed/);
  assert.equal(issued.length, 0);
});
