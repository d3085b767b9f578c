/**
 * `enclave run --grant <aws>` end to end against moto_server: Debian's AWS CLI v2 (through
 * credential_process) and the AWS SDK v3 (through the container endpoint) inside the run get
 * the assumed-role session whose name carries the run id; the operator's own keys never enter.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { baseAwsEnv, TEST_ROLE } from "../helpers/aws.js";
import { REPO, type Sandbox, sandboxPool } from "../helpers/cli.js";
import { type Moto, startMoto } from "../helpers/moto.js";

const AWS_CLI = "/usr/bin/aws";
const ROLE = TEST_ROLE;
const pool = sandboxPool();
const SANDBOX = (() => {
  try {
    execFileSync("bwrap", ["--unshare-net", "--ro-bind", "/", "/", "true"], { stdio: "ignore" });
    return "bwrap";
  } catch {
    return "none";
  }
})();

let moto: Moto;
let sb: Sandbox;
let work: string;

before(async () => {
  moto = await startMoto();
  // The operator's own credentials: moto's dummy keys, visible to enclave, never to the run.
  sb = await pool.vault("run-aws", {
    env: { ...baseAwsEnv(moto), AWS_EC2_METADATA_DISABLED: "true" },
  });
  work = pool.tempDir("enclave-run-aws-");
  await sb.ok(["grant", "aws", "dev", "--role", ROLE, "--region", "us-east-1", "--duration", "15m"]);
});
after(() => moto?.stop());

const run = (args: string[]) =>
  sb.run(
    [
      "run",
      "--grant",
      "dev",
      "--allow",
      moto.endpoint.replace("http://", ""),
      "--sandbox",
      SANDBOX,
      "--",
      ...args,
    ],
    {
      cwd: work,
    },
  );

async function lastRunId(): Promise<string> {
  const runs = JSON.parse(await sb.ok(["runs", "--json"])) as { id: string }[];
  return runs.at(-1)!.id;
}

test("the AWS CLI v2 gets the run's assumed-role session (credential_process)", {
  skip: !existsSync(AWS_CLI) && "no /usr/bin/aws",
}, async () => {
  const r = await run([
    AWS_CLI,
    "--endpoint-url",
    moto.endpoint,
    "sts",
    "get-caller-identity",
    "--output",
    "json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const id = JSON.parse(r.stdout.toString()) as { Arn: string };
  const runId = await lastRunId();
  assert.equal(id.Arn, `arn:aws:sts::123456789012:assumed-role/agent/enclave-${runId}`);
  const records = JSON.parse(await sb.ok(["audit", "--run", runId, "--json"])) as {
    type: string;
    kind?: string;
    detail?: Record<string, string>;
  }[];
  const issued = records.filter((x) => x.type === "credential" && x.kind === "aws");
  assert.equal(issued.length, 1);
  assert.equal(issued[0]!.detail!.sessionName, `enclave-${runId}`);
  assert.equal(issued[0]!.detail!.role, ROLE);
  const log = JSON.stringify(records);
  assert.ok(!/ASIA[A-Z0-9]{12,}/.test(log) && !log.includes("SecretAccessKey"), "keys in the audit log");
});

test("the AWS SDK v3 default chain gets it through the container endpoint", async () => {
  const script = join(work, "sdk.mjs");
  writeFileSync(
    script,
    `import { STSClient, GetCallerIdentityCommand } from ${JSON.stringify(join(REPO, "node_modules/@aws-sdk/client-sts/dist-cjs/index.js"))};
// Without the profile, the chain falls through to AWS_CONTAINER_CREDENTIALS_FULL_URI.
delete process.env.AWS_PROFILE; delete process.env.AWS_CONFIG_FILE;
import { NodeHttpHandler } from ${JSON.stringify(join(REPO, "node_modules/@smithy/node-http-handler/dist-cjs/index.js"))};
import { HttpsProxyAgent } from ${JSON.stringify(join(REPO, "node_modules/https-proxy-agent/dist/index.js"))};
// The SDK ignores HTTPS_PROXY: API calls go through the run's proxy by an agent (inside the
// sandbox there is no other way out). The credential lookup is a direct call to 127.0.0.1.
const agent = new HttpsProxyAgent(process.env.HTTPS_PROXY);
const sts = new STSClient({ endpoint: ${JSON.stringify(moto.endpoint)}, region: "us-east-1",
  requestHandler: new NodeHttpHandler({ httpAgent: agent, httpsAgent: agent }) });
const id = await sts.send(new GetCallerIdentityCommand({}));
process.stdout.write(id.Arn);
`,
  );
  const r = await run([process.execPath, script]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout.toString(),
    `arn:aws:sts::123456789012:assumed-role/agent/enclave-${await lastRunId()}`,
  );
});

test("the child's environment holds no base credentials; a wrong endpoint token gets 401", async () => {
  const r = await run([
    "sh",
    "-c",
    'env; echo "STATUS=$(curl -s -o /dev/null -w %{http_code} -H "Authorization: wrong" "$AWS_CONTAINER_CREDENTIALS_FULL_URI")"',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const env = r.stdout.toString();
  assert.ok(!env.includes("AWS_ACCESS_KEY_ID") && !env.includes("AWS_SECRET_ACCESS_KEY"));
  assert.ok(!env.includes("testing"), "the operator's key leaked");
  assert.match(env, /^AWS_PROFILE=enclave-dev$/m);
  assert.match(env, /^AWS_CONTAINER_CREDENTIALS_FULL_URI=http:\/\/127\.0\.0\.1:\d+\/aws\/dev\/credentials$/m);
  assert.match(env, /^STATUS=401$/m);
  const records = JSON.parse(await sb.ok(["audit", "--run", await lastRunId(), "--json"])) as {
    type: string;
    reason?: string;
  }[];
  assert.ok(records.some((x) => x.type === "denied" && /wrong Authorization token/.test(x.reason ?? "")));
});

test("an STS failure stops the run before the command starts, with the reason", async () => {
  const marker = join(work, "must-not-exist");
  const r = await sb.run(["run", "--grant", "dev", "--sandbox", SANDBOX, "--", "touch", marker], {
    cwd: work,
    env: { AWS_ENDPOINT_URL_STS: "http://127.0.0.1:1" },
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /AWS grant dev: .*the command was not started/);
  assert.ok(!existsSync(marker));
  const runs = JSON.parse(await sb.ok(["runs", "--json"])) as {
    exitCode: number | null;
    end: string | null;
  }[];
  assert.equal(runs.at(-1)!.exitCode, null);
  assert.notEqual(runs.at(-1)!.end, null, "the failed run has its run.end");
  await sb.ok(["audit", "verify"]);
});
