/**
 * `enclave scan` through the built CLI on trees and git repositories the test makes: patterns,
 * history with the introducing commit, the vault's own values by name only, baselines, inline
 * allows, SARIF against the 2.1.0 schema.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import AjvDraft04 from "ajv-draft-04";
import addFormats from "ajv-formats";
import { sandboxPool } from "../helpers/cli.js";

const { sandbox, vault, tempDir } = sandboxPool();

// Fake credentials, assembled at run time so this file itself trips no scanner.
const AWS_KEY = ["AKIA", "Q7ZX3RCVB5NT2WME"].join("");
const PEM = [
  "-----BEGIN ",
  "RSA PRIVATE KEY-----\n",
  randomBytes(96).toString("base64"),
  "\n-----END RSA ",
  "PRIVATE KEY-----\n",
].join("");

function git(dir: string, ...args: string[]): string {
  const r = spawnSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Ada",
      GIT_AUTHOR_EMAIL: "ada@example.org",
      GIT_COMMITTER_NAME: "Ada",
      GIT_COMMITTER_EMAIL: "ada@example.org",
      GIT_AUTHOR_DATE: "2026-01-02T03:04:05Z",
    },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function repo(): string {
  const dir = tempDir("enclave-scan-repo-");
  git(dir, "init", "-q", "-b", "main");
  return dir;
}

test("a working tree: findings with path, line and rule; redacted text; exit 1; clean tree exit 0", async () => {
  const sb = sandbox("scan-tree");
  const dir = tempDir("enclave-scan-tree-");
  mkdirSync(join(dir, "config"));
  writeFileSync(join(dir, "config/deploy.sh"), `#!/bin/sh\nexport AWS_ACCESS_KEY_ID=${AWS_KEY}\n`);
  writeFileSync(join(dir, "id_rsa"), PEM);
  writeFileSync(join(dir, "image.bin"), Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from(AWS_KEY)]));
  const r = await sb.run(["scan", dir, "--format", "json"]);
  assert.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout.toString());
  const where = out.findings.map((f: { path: string; line: number }) => `${f.path}:${f.line}`).sort();
  assert.deepEqual(where, ["config/deploy.sh:2", "id_rsa:1"]);
  assert.equal(out.stats.skippedBinary, 1);
  const text = await sb.run(["scan", dir]);
  assert.equal(text.code, 1);
  assert.ok(!text.stdout.toString().includes(AWS_KEY), "text output is redacted");
  assert.match(text.stdout.toString(), /config\/deploy\.sh:2:\d+: \S+ AKI…/);
  const clean = tempDir("enclave-scan-clean-");
  writeFileSync(join(clean, "README.md"), "nothing to see\n");
  assert.equal((await sb.run(["scan", clean])).code, 0);
});

test("a git working tree respects .gitignore", async () => {
  const sb = sandbox("scan-ignore");
  const dir = repo();
  writeFileSync(join(dir, ".gitignore"), "secrets.env\n");
  writeFileSync(join(dir, "secrets.env"), `KEY=${AWS_KEY}\n`);
  writeFileSync(join(dir, "app.txt"), "hello\n");
  assert.equal((await sb.run(["scan", dir])).code, 0);
});

test("--history finds a secret added and later deleted, with its commit, author and date; each blob once", async () => {
  const sb = sandbox("scan-history");
  const dir = repo();
  writeFileSync(join(dir, "app.txt"), "v1\n");
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "start");
  writeFileSync(join(dir, "deploy.sh"), `echo deploying\nexport AWS_ACCESS_KEY_ID=${AWS_KEY}\n`);
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "add deploy");
  const leaking = git(dir, "rev-parse", "HEAD");
  // The same blob on another branch, and many later commits that do not touch it.
  git(dir, "branch", "other");
  for (let i = 2; i < 6; i++) {
    writeFileSync(join(dir, "app.txt"), `v${i}\n`);
    git(dir, "commit", "-qam", `v${i}`);
  }
  git(dir, "rm", "-q", "deploy.sh");
  git(dir, "commit", "-qm", "remove the key");
  assert.equal((await sb.run(["scan", dir])).code, 0, "the working tree is clean");
  const r = await sb.run(["scan", dir, "--history", "--format", "json"]);
  assert.equal(r.code, 1, r.stderr);
  const { findings, stats } = JSON.parse(r.stdout.toString());
  assert.equal(findings.length, 1, JSON.stringify(findings));
  assert.equal(findings[0].commit, leaking);
  assert.equal(findings[0].path, "deploy.sh");
  assert.equal(findings[0].line, 2);
  assert.equal(findings[0].author, "Ada <ada@example.org>");
  assert.match(findings[0].date, /^2026-01-02T03:04:05/);
  // Distinct blobs: app.txt v1..v5 and deploy.sh — 6, however many commits and refs hold them.
  assert.equal(stats.scanned, 6);
});

test("--known finds the vault's own values in every encoding and names them, never shows them", async () => {
  const sb = await vault("scan-known");
  const value = `kv-${randomBytes(12).toString("base64url")}+/=`;
  await sb.ok(["set", "prod/api-token"], { input: value });
  const dir = tempDir("enclave-scan-known-");
  const forms = {
    raw: value,
    base64: Buffer.from(value).toString("base64"),
    hex: Buffer.from(value).toString("hex"),
    url: encodeURIComponent(value),
  };
  writeFileSync(
    join(dir, "notes.txt"),
    Object.entries(forms)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n"),
  );
  const r = await sb.run(["scan", dir, "--known", "--format", "json"]);
  assert.equal(r.code, 1, r.stderr);
  const known = JSON.parse(r.stdout.toString()).findings.filter(
    (f: { ruleId: string }) => f.ruleId === "known-secret",
  );
  assert.deepEqual(
    known.map((f: { line: number; secretName: string; encoding: string }) => [
      f.line,
      f.secretName,
      f.encoding,
    ]),
    [
      [1, "prod/api-token", "raw"],
      [2, "prod/api-token", "base64"],
      [3, "prod/api-token", "hex"],
      [4, "prod/api-token", "url-encoded"],
    ],
  );
  for (const fmt of ["text", "json", "sarif"]) {
    const out = (await sb.run(["scan", dir, "--known", "--format", fmt])).stdout.toString();
    for (const v of Object.values(forms))
      assert.ok(!out.includes(v), `${fmt} output shows a form of the value`);
  }
  await sb.ok(["lock"]);
  const locked = await sb.run(["scan", dir, "--known"]);
  assert.equal(locked.code, 6);
});

test("inline enclave:allow and a baseline suppress exactly what they name", async () => {
  const sb = sandbox("scan-allow");
  const dir = tempDir("enclave-scan-allow-");
  writeFileSync(join(dir, "a.sh"), `KEY=${AWS_KEY} # enclave:allow test fixture\nOTHER=${AWS_KEY}\n`);
  const first = JSON.parse((await sb.run(["scan", dir, "--format", "json"])).stdout.toString());
  assert.deepEqual(
    first.findings.map((f: { line: number }) => f.line),
    [2],
  );
  const baseline = join(tempDir("enclave-scan-baseline-"), "baseline.json");
  assert.equal((await sb.run(["scan", dir, "--write-baseline", baseline])).code, 0);
  assert.doesNotMatch(
    readFileSync(baseline, "utf8"),
    new RegExp(AWS_KEY),
    "the baseline holds fingerprints only",
  );
  assert.equal((await sb.run(["scan", dir, "--baseline", baseline])).code, 0);
  writeFileSync(join(dir, "b.pem"), PEM);
  const again = JSON.parse(
    (await sb.run(["scan", dir, "--baseline", baseline, "--format", "json"])).stdout.toString(),
  );
  assert.deepEqual(
    again.findings.map((f: { path: string }) => f.path),
    ["b.pem"],
  );
  assert.equal(again.stats.suppressedByBaseline, 1);
  // Rewriting the baseline keeps what it already accepted.
  assert.equal((await sb.run(["scan", dir, "--baseline", baseline, "--write-baseline", baseline])).code, 0);
  assert.equal((await sb.run(["scan", dir, "--baseline", baseline])).code, 0);
});

test("SARIF output validates against the SARIF 2.1.0 schema", async () => {
  const sb = sandbox("scan-sarif");
  const dir = repo();
  writeFileSync(join(dir, "k.sh"), `export AWS_ACCESS_KEY_ID=${AWS_KEY}\n`);
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "leak");
  const r = await sb.run(["scan", dir, "--history", "--format", "sarif"]);
  assert.equal(r.code, 1, r.stderr);
  const sarif = JSON.parse(r.stdout.toString());
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(
    readFileSync(require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"), "utf8"),
  );
  // The published SARIF 2.1.0 schema is written in JSON Schema draft-04.
  // unicodeRegExp off: one of its patterns is not valid with the u flag.
  const ajv = new AjvDraft04.default({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  const valid = validate(sarif as unknown); // a cast, so the type guard does not narrow `sarif`
  assert.ok(valid, JSON.stringify(validate.errors, null, 2));
  assert.equal(sarif.runs[0].results.length, 1);
  assert.equal(sarif.runs[0].results[0].locations[0].physicalLocation.region.startLine, 1);
});

test("bad input: unknown format is exit 2; --history outside a git repository is a clear error", async () => {
  const sb = sandbox("scan-bad");
  assert.equal((await sb.run(["scan", ".", "--format", "xml"])).code, 2);
  const r = await sb.run(["scan", tempDir("enclave-scan-nogit-"), "--history"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--history needs a git repository/);
  const env = join(tempDir("enclave-scan-badbase-"), "secrets.env");
  writeFileSync(env, `AWS_SECRET_ACCESS_KEY=${AWS_KEY}\n`);
  const bad = await sb.run(["scan", ".", "--baseline", env]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /is not an enclave scan baseline/);
  assert.ok(
    !bad.stderr.includes(AWS_KEY) && !bad.stderr.includes("AWS_SECRET"),
    "the baseline file is never quoted",
  );
});

test("paths excluded in config.yaml (scan.exclude) are not scanned", async () => {
  const sb = sandbox("scan-exclude");
  const dir = tempDir("enclave-scan-excl-");
  mkdirSync(join(dir, "fixtures"));
  writeFileSync(join(dir, "fixtures/key.txt"), AWS_KEY);
  mkdirSync(sb.home, { recursive: true });
  writeFileSync(join(sb.home, "config.yaml"), "scan:\n  exclude: ['fixtures/']\n");
  assert.equal((await sb.run(["scan", dir])).code, 0);
});

test("--history with exclusions: a blob is left out only when every path it was committed under is excluded", async () => {
  const sb = sandbox("scan-history-exclude");
  const dir = repo();
  mkdirSync(join(dir, "fixtures"));
  writeFileSync(join(dir, "fixtures/only-here.txt"), `A=${AWS_KEY}\n`);
  writeFileSync(join(dir, "fixtures/copied.txt"), `${PEM}`);
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "fixtures");
  mkdirSync(join(dir, "src"));
  writeFileSync(join(dir, "src/copied.txt"), `${PEM}`); // the same blob, now outside fixtures/
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "copy");
  const r = await sb.run(["scan", dir, "--history", "--exclude", "fixtures/", "--format", "json"]);
  assert.equal(r.code, 1, r.stderr);
  const rules = JSON.parse(r.stdout.toString()).findings.map((f: { ruleId: string }) => f.ruleId);
  assert.deepEqual(rules, ["private-key"], "the copied key is still found; the fixture-only one is not");
});

test("--known: a vault value that also fits a rule is reported once, by name; unpadded base64 is found", async () => {
  const sb = await vault("scan-known-overlap");
  await sb.ok(["set", "ci/aws-key-id"], { input: AWS_KEY });
  const dir = tempDir("enclave-scan-overlap-");
  const unpadded = Buffer.from(AWS_KEY).toString("base64").replace(/=+$/, "");
  assert.notEqual(unpadded, Buffer.from(AWS_KEY).toString("base64"), "the test value needs padding");
  writeFileSync(join(dir, "ci.yml"), `key: ${AWS_KEY}\nb64: ${unpadded}\n`);
  const r = await sb.run(["scan", dir, "--known", "--format", "json"]);
  const findings = JSON.parse(r.stdout.toString()).findings as {
    ruleId: string;
    line: number;
    redacted: string;
  }[];
  assert.deepEqual(
    findings.map((f) => [f.line, f.ruleId]),
    [
      [1, "known-secret"],
      [2, "known-secret"],
    ],
  );
  assert.ok(
    findings.every((f) => f.redacted === ""),
    "no part of the value is shown",
  );
});

test("columns count characters (UTF-16 units, as SARIF expects), not bytes, after non-ASCII text", async () => {
  const sb = sandbox("scan-columns");
  const dir = tempDir("enclave-scan-columns-");
  const prefix = 'x = "héllo wörld" # AWS ';
  writeFileSync(join(dir, "u.py"), `${prefix}${AWS_KEY}\n`);
  const f = JSON.parse((await sb.run(["scan", dir, "--format", "json"])).stdout.toString()).findings[0];
  assert.equal(f.column, prefix.length + 1);
});
