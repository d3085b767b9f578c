/**
 * One order for enclave's own AWS credentials, whichever client asks: sync's S3 client
 * (`credentialProvider`) and the STS base credentials of grants and runs (`baseCredentialSource`)
 * resolve the same environment to the same keys.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { awsCredentialSource, awsRegion } from "../../src/platform/aws-credentials.js";
import { baseCredentialSource, stsRegion } from "../../src/providers/aws/sts.js";
import { credentialProvider, resolveRegion } from "../../src/remote/s3-client.js";

process.env.AWS_EC2_METADATA_DISABLED = "true";
const dir = mkdtempSync(join(tmpdir(), "enclave-aws-creds-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const credentials = join(dir, "credentials");
writeFileSync(
  credentials,
  [
    "[default]",
    "aws_access_key_id = AKIADEFAULT",
    "aws_secret_access_key = default-secret",
    "[named]",
    "aws_access_key_id = AKIANAMED",
    "aws_secret_access_key = named-secret",
    "[fromenv]",
    "aws_access_key_id = AKIAPROFILEENV",
    "aws_secret_access_key = profile-env-secret",
    "",
  ].join("\n"),
);
const config = join(dir, "config");
writeFileSync(config, "");

function env(over: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: config, ...over };
}
const KEYS = { AWS_ACCESS_KEY_ID: "AKIAENVKEYS", AWS_SECRET_ACCESS_KEY: "env-secret" };

/** The access key id each caller resolves: the shared function, sync's S3 client, the STS base. */
async function resolved(e: NodeJS.ProcessEnv, profile?: string): Promise<string[]> {
  return [
    (await awsCredentialSource(profile ? { name: profile, from: "--profile" } : undefined, e).provider())
      .accessKeyId,
    (await credentialProvider(profile ? { profile } : {}, e)()).accessKeyId,
    (await baseCredentialSource(profile ? { sourceProfile: profile } : {}, e).provider()).accessKeyId,
  ];
}

test("a named profile wins over environment keys and AWS_PROFILE", async () => {
  assert.deepEqual(
    await resolved(env({ ...KEYS, AWS_PROFILE: "fromenv" }), "named"),
    Array(3).fill("AKIANAMED"),
  );
  const s = baseCredentialSource({ sourceProfile: "named" }, env(KEYS));
  assert.equal(s.describe, 'profile "named" (--source-profile)');
  assert.equal(s.profile, "named");
});

test("then environment keys, even when AWS_PROFILE is set (the AWS CLI's order)", async () => {
  const e = env({ ...KEYS, AWS_SESSION_TOKEN: "tok", AWS_PROFILE: "fromenv" });
  assert.deepEqual(await resolved(e), Array(3).fill("AKIAENVKEYS"));
  const s = awsCredentialSource(undefined, e);
  assert.equal((await s.provider()).sessionToken, "tok");
  assert.match(s.describe, /^environment keys/);
  assert.equal(s.profile, undefined);
});

test("then AWS_PROFILE; half a key pair does not count", async () => {
  const e = env({ AWS_ACCESS_KEY_ID: "AKIAHALF", AWS_PROFILE: "fromenv" });
  assert.deepEqual(await resolved(e), Array(3).fill("AKIAPROFILEENV"));
  assert.equal(awsCredentialSource(undefined, e).describe, 'profile "fromenv" (AWS_PROFILE)');
});

test("then the SDK's default chain", async (t) => {
  // The chain's own environment step reads process.env: keep the test's keys out of it.
  for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) {
    const saved = process.env[k];
    delete process.env[k];
    t.after(() => {
      if (saved !== undefined) process.env[k] = saved;
    });
  }
  assert.deepEqual(await resolved(env()), Array(3).fill("AKIADEFAULT"));
  assert.match(awsCredentialSource(undefined, env()).describe, /default AWS credential chain/);
});

test("regions: the one asked for, AWS_REGION, AWS_DEFAULT_REGION, then the caller's fallback", () => {
  const role = "arn:aws-cn:iam::123456789012:role/r";
  assert.equal(awsRegion("eu-west-1", { AWS_REGION: "x" }), "eu-west-1");
  assert.equal(awsRegion(undefined, { AWS_REGION: "ap-south-1", AWS_DEFAULT_REGION: "x" }), "ap-south-1");
  assert.equal(awsRegion(undefined, { AWS_DEFAULT_REGION: "sa-east-1" }), "sa-east-1");
  assert.equal(awsRegion(undefined, {}), "us-east-1");
  assert.equal(resolveRegion({}, { AWS_DEFAULT_REGION: "sa-east-1" }), "sa-east-1");
  assert.equal(resolveRegion({}, {}), "us-east-1");
  assert.equal(stsRegion({ role }, { AWS_DEFAULT_REGION: "sa-east-1" }), "sa-east-1");
  assert.equal(stsRegion({ role }, {}), "cn-north-1");
  assert.equal(stsRegion({ role, region: "cn-northwest-1" }, { AWS_REGION: "x" }), "cn-northwest-1");
});
