/**
 * Real AWS clients get the run's session, both ways, with nothing but what awsChildEnv and
 * renderAwsConfig give them: Debian's AWS CLI v2 (/usr/bin/aws) and a Node script on the AWS SDK
 * v3 default chain, each in a child process, calling sts get-caller-identity on moto_server. The
 * credential endpoint runs in this process (no proxy, no sandbox: the run tests cover those).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CREDENTIAL_PROCESS_SCRIPT } from "../../../src/providers/aws/credential-process.js";
import { useMotoCredentialServer } from "../../helpers/aws.js";
import { type AwsCredentialPath, awsChildSetup } from "../../helpers/aws-child.js";
import { REPO } from "../../helpers/cli.js";

process.env.AWS_EC2_METADATA_DISABLED = "true";
const AWS = "/usr/bin/aws";
const RUN_ID = "20261123-c1a7";
const ASSUMED = `arn:aws:sts::123456789012:assumed-role/agent/enclave-${RUN_ID}`;
const fx = useMotoCredentialServer({ runId: RUN_ID, durationSeconds: 3600 });

/** The child's whole environment: PATH, an empty HOME (no ~/.aws), and the run's AWS variables. */
function childEnv(path: AwsCredentialPath, token = fx.srv.token): Record<string, string> {
  const configFile = join(fx.srv.dir, `aws-config-${path}`);
  const setup = awsChildSetup({
    prefer: path,
    region: "us-east-1",
    configFile,
    endpointUrl: fx.srv.url,
    tokenFile: fx.srv.tokenFile,
    token,
    credentialProcessCommand: [process.execPath, CREDENTIAL_PROCESS_SCRIPT],
  });
  writeFileSync(configFile, setup.configText, { mode: 0o600 });
  assert.equal(setup.configText.includes("credential_process"), path === "process");
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: fx.srv.dir, ...setup.env };
}

function run(cmd: string, args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(cmd, args, { env, cwd: REPO }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** A Node script on the SDK v3 default chain: who am I, and what does my environment hold? */
const NODE_CHILD = `
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
const sts = new STSClient({});
const id = await sts.send(new GetCallerIdentityCommand({}));
const creds = await sts.config.credentials();
console.log(JSON.stringify({
  arn: id.Arn,
  expiration: creds.expiration?.toISOString(),
  env: process.env,
}));`;

function assertNoBaseCredentials(env: Record<string, string | undefined>): void {
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"])
    assert.equal(env[k], undefined, `${k} in the child`);
  for (const [k, v] of Object.entries(env))
    assert.notEqual(v, fx.moto.env.AWS_SECRET_ACCESS_KEY, `${k} holds enclave's own secret key`);
}

for (const path of ["process", "container"] as const) {
  const via = path === "process" ? /^enclave-credential-process$/ : /^(?!enclave-credential-process)/;

  test(`AWS CLI v2 via ${path === "process" ? "credential_process" : "the container endpoint"}: the run's assumed role`, {
    skip: existsSync(AWS) ? false : `${AWS} is not installed`,
  }, async () => {
    const seen = fx.srv.userAgents.length;
    const env = childEnv(path);
    const r = await run(
      AWS,
      ["sts", "get-caller-identity", "--endpoint-url", fx.moto.endpoint, "--output", "json"],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { Arn: string }).Arn, ASSUMED);
    const agents = fx.srv.userAgents.slice(seen);
    assert.ok(agents.length >= 1);
    for (const a of agents) assert.match(a ?? "", via, `request from ${a}`);
    assertNoBaseCredentials(env);
  });

  test(`AWS SDK v3 default chain via ${path === "process" ? "credential_process" : "the container endpoint"}: the run's assumed role`, async () => {
    const seen = fx.srv.userAgents.length;
    const r = await run(process.execPath, ["--input-type=module", "-e", NODE_CHILD], {
      ...childEnv(path),
      AWS_ENDPOINT_URL_STS: fx.moto.endpoint,
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { arn: string; expiration: string; env: Record<string, string> };
    assert.equal(out.arn, ASSUMED);
    assert.equal(out.expiration, (await fx.broker.get()).expiration.toISOString());
    assertNoBaseCredentials(out.env);
    const agents = fx.srv.userAgents.slice(seen);
    assert.equal(agents.length, 1);
    assert.match(agents[0] ?? "", via);
  });
}

test("every child shared the one session: one STS call so far", () => {
  assert.equal(fx.broker.stats().stsCalls, 1);
});

test("a child with a wrong token gets nothing, and the refusals are audited", {
  skip: existsSync(AWS) ? false : `${AWS} is not installed`,
}, async () => {
  const seen = fx.srv.audits.length;
  const r = await run(
    AWS,
    ["sts", "get-caller-identity", "--endpoint-url", fx.moto.endpoint],
    childEnv("container", `${fx.srv.token}-guess`),
  );
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stdout, /assumed-role/);
  const refused = fx.srv.audits.slice(seen);
  assert.ok(refused.length >= 1);
  for (const a of refused)
    assert.deepEqual(a, { ok: false, reason: "wrong Authorization token", status: 401 });
});
