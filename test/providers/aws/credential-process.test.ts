/**
 * The credential_process helper, run as the AWS CLI and SDKs run it (a separate node process),
 * against a credential endpoint whose broker talks to moto_server.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import {
  CREDENTIAL_PROCESS_SCRIPT,
  credentialProcessMain,
  parseCredentialProcessArgs,
} from "../../../src/providers/aws/credential-process.js";
import { useMotoCredentialServer } from "../../helpers/aws.js";

process.env.AWS_EC2_METADATA_DISABLED = "true";
const fx = useMotoCredentialServer({ runId: "run-cp", durationSeconds: 900 });

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // What the child of a run has: no AWS variables at all.
    const child = spawn(process.execPath, [CREDENTIAL_PROCESS_SCRIPT, ...args], {
      env: { PATH: process.env.PATH },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("prints Version 1 credential_process JSON for the run's session", async () => {
  const r = await run(["--url", fx.srv.url, "--token-file", fx.srv.tokenFile]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(j), [
    "Version",
    "AccessKeyId",
    "SecretAccessKey",
    "SessionToken",
    "Expiration",
  ]);
  assert.equal(j.Version, 1);
  const direct = await fx.broker.get();
  assert.equal(j.AccessKeyId, direct.accessKeyId);
  assert.equal(j.SessionToken, direct.sessionToken);
  assert.equal(j.Expiration, direct.expiration.toISOString());
  assert.equal(fx.srv.userAgents.at(-1), "enclave-credential-process");
});

test("--url=… form and a token file with a trailing newline", async () => {
  const f = join(fx.srv.dir, "token-nl");
  writeFileSync(f, `${fx.srv.token}\n`, { mode: 0o600 });
  const r = await run([`--url=${fx.srv.url}`, `--token-file=${f}`]);
  assert.equal(r.code, 0, r.stderr);
});

test("a wrong token is refused by the endpoint: exit 1, and no credentials printed", async () => {
  const f = join(fx.srv.dir, "token-wrong");
  writeFileSync(f, "not-the-token", { mode: 0o600 });
  const r = await run(["--url", fx.srv.url, "--token-file", f]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^enclave: the run's credential endpoint refused the token \(401\)/);
});

test("token files that are not private, missing, empty or multi-line are refused before any request", async () => {
  const before = fx.srv.audits.length;
  const loose = join(fx.srv.dir, "token-loose");
  writeFileSync(loose, fx.srv.token);
  chmodSync(loose, 0o644);
  const empty = join(fx.srv.dir, "token-empty");
  writeFileSync(empty, "\n", { mode: 0o600 });
  const two = join(fx.srv.dir, "token-two");
  writeFileSync(two, "a\nb", { mode: 0o600 });
  const cases: [string, RegExp][] = [
    [loose, /accessible to others \(mode 644\); it must be this user's, mode 0600/],
    [join(fx.srv.dir, "nope"), /cannot open the token file .*\(ENOENT\)/],
    [fx.srv.dir, /not a regular file/],
    [empty, /does not hold a one-line token/],
    [two, /does not hold a one-line token/],
  ];
  for (const [file, why] of cases) {
    const r = await run(["--url", fx.srv.url, "--token-file", file]);
    assert.equal(r.code, 2, file);
    assert.match(r.stderr, why);
    assert.equal(r.stdout, "");
  }
  assert.equal(fx.srv.audits.length, before, "nothing reached the endpoint");
});

test("plain http only to loopback; bad arguments are usage errors", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--url", "http://example.com/aws/x", "--token-file", fx.srv.tokenFile],
      /plain http is allowed only to a loopback/,
    ],
    [["--url", "http://10.0.0.1:9/x", "--token-file", fx.srv.tokenFile], /loopback/],
    [["--url", "not a url", "--token-file", fx.srv.tokenFile], /is not a URL/],
    [["--url", fx.srv.url], /usage: --url URL --token-file FILE/],
    [["--url", fx.srv.url, "--token-file"], /--token-file needs a value/],
    [["--url", fx.srv.url, "--token-file", fx.srv.tokenFile, "--verbose", "1"], /unknown option --verbose/],
  ];
  for (const [args, why] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, why);
  }
  // the parser the CLI command can reuse
  assert.deepEqual(parseCredentialProcessArgs(["--url", "http://127.0.0.1:1/x", "--token-file", "/t"]), {
    url: "http://127.0.0.1:1/x",
    tokenFile: "/t",
  });
});

test("an endpoint that is down or failing: exit 1 with what happened", async () => {
  const down = new URL(fx.srv.url);
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
  down.port = String((probe.address() as { port: number }).port);
  await new Promise((r) => probe.close(r));
  let out = "";
  let err = "";
  const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } };
  assert.equal(await credentialProcessMain({ url: down.href, tokenFile: fx.srv.tokenFile }, io), 1);
  assert.match(err, /cannot reach the run's credential endpoint http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  assert.equal(out, "");

  const failing = createServer((_req, res) => {
    res.writeHead(502, { "content-type": "application/json" });
    res.end(JSON.stringify({ Code: "CredentialsUnavailable", Message: "ask the operator" }));
  });
  await new Promise<void>((r) => failing.listen(0, "127.0.0.1", () => r()));
  err = "";
  const url = `http://127.0.0.1:${(failing.address() as { port: number }).port}/aws/x/credentials`;
  try {
    assert.equal(await credentialProcessMain({ url, tokenFile: fx.srv.tokenFile }, io), 1);
    assert.match(err, /answered 502: ask the operator/);
  } finally {
    await new Promise((r) => failing.close(r));
  }
});
