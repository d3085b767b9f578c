/**
 * `enclave bootstrap` on blank homes against moto_server: credentials → pull → unlock, each step
 * reported; the first failure stops everything and names its step; a second run is safe.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { sandboxPool } from "../helpers/cli.js";
import { type Moto, startMoto } from "../helpers/moto.js";

// Never let the SDK probe the EC2 metadata address from a test.
const { sandbox, vault, tempDir } = sandboxPool({ env: { AWS_EC2_METADATA_DISABLED: "true" } });
let moto: Moto;
const scratch = tempDir("enclave-boot-");
const URL = "s3://rebirth/enclave/vault.enc";

before(async () => {
  moto = await startMoto();
  await moto.createBucket("rebirth", { versioned: true });
  const a = await vault("boot-a", { env: moto.env });
  await a.ok(["set", "infra/unseal-key"], { input: "unseal-me" });
  await a.ok(["remote", "set", URL]);
  await a.ok(["push"]);
});
after(async () => {
  await moto?.stop();
});

test("bootstrap on an empty ENCLAVE_HOME ends unlocked, and running it again is safe", async () => {
  const b = sandbox("boot-b", moto.env);
  const r = await b.run(["bootstrap", "--remote", URL, "--passphrase-file", b.passFile, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const steps = JSON.parse(r.stdout.toString()).steps as { step: string; result: string }[];
  assert.deepEqual(
    steps.map((s) => s.step),
    ["credentials", "pull", "unlock"],
  );
  assert.match(steps[0]!.result, /AWS identity arn:aws:/);
  assert.equal(JSON.parse(await b.ok(["status", "--json"])).unlocked, true);
  assert.equal(readFileSync(join(b.runtimeDir, "infra/unseal-key"), "utf8"), "unseal-me");
  assert.equal(JSON.parse(await b.ok(["remote", "show", "--json"])).remote, URL);
  const again = await b.run(["bootstrap", "--remote", URL, "--passphrase-file", b.passFile]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already up to date/);
  assert.match(again.stderr, /already unlocked/);
});

test("a wrong passphrase stops at the unlock step with exit 3", async () => {
  const c = sandbox("boot-c", moto.env);
  const r = await c.run(["bootstrap", "--remote", URL, "--passphrase-file", "-"], {
    input: "not the passphrase\n",
  });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /stopped at step 3\/3 \(unlock\): wrong passphrase/);
  assert.equal(JSON.parse(await c.ok(["status", "--json"])).unlocked, false);
});

test("a missing bucket stops at the pull step, before any passphrase is asked", async () => {
  const d = sandbox("boot-d", moto.env);
  const r = await d.run(["bootstrap", "--remote", "s3://no-such-bucket/v.enc"]); // no passphrase source at all
  assert.equal(r.code, 1);
  assert.match(r.stderr, /stopped at step 2\/3 \(pull\):.*NoSuchBucket/);
  assert.equal(existsSync(d.vaultFile), false);
});

/** A profile of IAM Identity Center with no cached token: the SDK says a login is needed. */
function ssoProfileConfig(dir: string): string {
  const f = join(dir, "aws-config");
  writeFileSync(
    f,
    [
      "[profile team]",
      "sso_session = corp",
      "sso_account_id = 123456789012",
      "sso_role_name = Admin",
      "region = us-east-1",
      "[sso-session corp]",
      "sso_start_url = https://corp.awsapps.example/start",
      "sso_region = us-east-1",
      "",
    ].join("\n"),
  );
  return f;
}

test("an expired IAM Identity Center session runs `aws sso login --profile P`; its failure stops step 1", async () => {
  const e = sandbox("boot-e");
  // The browser login cannot happen in a test: a stand-in `aws` records how it was called and fails.
  const bin = mkdtempSync(join(scratch, "bin-"));
  const calls = join(bin, "calls");
  writeFileSync(join(bin, "aws"), `#!/bin/sh\necho "$@" >> ${calls}\nexit 1\n`);
  chmodSync(join(bin, "aws"), 0o755);
  const env = {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_CONFIG_FILE: ssoProfileConfig(bin),
    AWS_SHARED_CREDENTIALS_FILE: join(bin, "none"),
    PATH: `${bin}:/usr/bin:/bin`,
  };
  const r = await e.run(
    ["bootstrap", "--remote", URL, "--profile", "team", "--passphrase-file", e.passFile],
    { env },
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /needs a login: running `aws sso login --profile team`/);
  assert.match(r.stderr, /stopped at step 1\/3 \(credentials\): `aws sso login --profile team` failed/);
  assert.equal(readFileSync(calls, "utf8").trim(), "sso login --profile team");
  assert.equal(existsSync(e.vaultFile), false, "nothing pulled");
  // Without the AWS CLI, the message says how to get it.
  const empty = mkdtempSync(join(scratch, "empty-"));
  const r2 = await e.run(["bootstrap", "--remote", URL, "--profile", "team"], {
    env: { ...env, PATH: empty },
  });
  assert.equal(r2.code, 1);
  assert.match(r2.stderr, /AWS CLI is not installed.*aws sso login --profile team/);
});

test("bootstrap from a path remote has no credentials step", async () => {
  const src = await vault("boot-f");
  const remote = join(scratch, "vault.enc");
  await src.ok(["set", "k"], { input: "v" });
  await src.ok(["remote", "set", remote]);
  await src.ok(["push"]);
  const g = sandbox("boot-g");
  const r = await g.run(["bootstrap", "--remote", remote, "--passphrase-file", g.passFile, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    (JSON.parse(r.stdout.toString()).steps as { step: string }[]).map((s) => s.step),
    ["pull", "unlock"],
  );
  assert.equal(await g.ok(["get", "k"]), "v");
});

test("autoPush pushes after each change; --no-push opts out once", async () => {
  const h = await vault("boot-h");
  const remote = join(scratch, "auto.enc");
  await h.ok(["remote", "set", remote]);
  await h.ok(["push"]);
  writeFileSync(
    join(h.home, "config.yaml"),
    `${readFileSync(join(h.home, "config.yaml"), "utf8")}autoPush: true\n`,
  );
  const set = await h.run(["set", "auto"], { input: "pushed by itself" });
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stderr, /pushed to/);
  const reader = sandbox("boot-i");
  await reader.ok(["bootstrap", "--remote", remote, "--passphrase-file", reader.passFile]);
  assert.equal(await reader.ok(["get", "auto"]), "pushed by itself");
  const quiet = await h.run(["set", "local-only", "--no-push"], { input: "x" });
  assert.doesNotMatch(quiet.stderr, /pushed/);
  assert.equal(JSON.parse(await h.ok(["push", "--json"])).status, "pushed", "the change was still unpushed");
});
