/** `enclave import tazpod` through the built CLI: migrating a TazPod vault.tar.aes, safely. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { filesUnder, type Sandbox, sandboxPool, secretNames } from "../helpers/cli.js";
import { HOSTILE_ENTRIES, makeTazpodFile, TAZPOD_PASSPHRASE, tazpodEncrypt } from "../helpers/tazpod.js";

const pool = sandboxPool();

/** A vault plus a TazPod passphrase file in the sandbox's RAM folder. */
async function vault(name: string, unlock = true) {
  const sb = await pool.vault(name, { unlock });
  const tazPass = join(sb.passFile, "..", "tazpod-pass");
  writeFileSync(tazPass, `${TAZPOD_PASSPHRASE}\n`, { mode: 0o600 });
  return { sb, tazPass };
}

/** Write a TazPod file next to the vault home (ciphertext only: it may live on disk). */
function saveTazpod(sb: Sandbox, bytes: Buffer): string {
  const path = join(sb.home, "vault.tar.aes");
  writeFileSync(path, bytes);
  return path;
}

const BINARY = randomBytes(4096);
const TOKEN = `ghp_${randomBytes(12).toString("hex")}`;
const UNSEAL = `unseal-${randomBytes(8).toString("hex")}\n`;
const GOOD = [
  { name: "github", type: "directory" as const },
  { name: "github/token", content: TOKEN },
  { name: "ssh/id_ed25519", content: BINARY },
  { name: "vault-unseal-key-1", content: UNSEAL },
];

test("import: values identical byte for byte (binary too); hostile entries skipped and reported", async () => {
  const { sb, tazPass } = await vault("imp-happy");
  const file = saveTazpod(sb, await makeTazpodFile([...GOOD, ...HOSTILE_ENTRIES]));
  const r = await sb.run(["import", "tazpod", file, "--passphrase-file", tazPass]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await secretNames(sb), ["github/token", "ssh/id_ed25519", "vault-unseal-key-1"]);
  assert.equal((await sb.run(["get", "github/token"])).stdout.toString(), TOKEN);
  assert.deepEqual((await sb.run(["get", "ssh/id_ed25519"])).stdout, BINARY);
  assert.equal((await sb.run(["get", "vault-unseal-key-1"])).stdout.toString(), UNSEAL);
  // Every hostile entry is named in the report, the cached passphrase explicitly.
  for (const e of HOSTILE_ENTRIES) assert.ok(r.stderr.includes(JSON.stringify(e.name)), `${e.name} reported`);
  assert.match(r.stderr, /"\.vault_pass": TazPod's cached passphrase/);
  assert.match(r.stderr, /"passwd-link": symbolic link/);
  assert.match(r.stderr, /imported 3 secret\(s\), skipped 11 entries/);
  // Nothing of a value is printed.
  for (const out of [r.stderr, r.stdout.toString()])
    for (const secret of [TOKEN, UNSEAL.trim(), TAZPOD_PASSPHRASE]) assert.ok(!out.includes(secret));
  // Nothing escaped the RAM directory, and no plaintext reached ENCLAVE_HOME.
  for (const f of filesUnder(sb.home)) {
    const bytes = readFileSync(f);
    for (const needle of [TOKEN, UNSEAL.trim(), "escaped-value", TAZPOD_PASSPHRASE])
      assert.equal(bytes.indexOf(needle), -1, `${needle} in ${f}`);
  }
  assert.deepEqual(
    filesUnder(sb.runtimeDir)
      .map((f) => f.slice(sb.runtimeDir.length + 1))
      .filter((f) => !f.startsWith(".enclave/"))
      .sort(),
    ["github/token", "ssh/id_ed25519", "vault-unseal-key-1"],
  );
  // Survives lock / unlock: it is in the vault file, not only in RAM.
  await sb.ok(["lock"]);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  assert.deepEqual((await sb.run(["get", "ssh/id_ed25519"])).stdout, BINARY);
});

test("import: the TazPod passphrase can come from stdin; --json reports secrets and skips", async () => {
  const { sb } = await vault("imp-stdin");
  const file = saveTazpod(sb, await makeTazpodFile([...GOOD, { name: ".vault_pass", content: "x" }]));
  const out = await sb.ok(["import", "tazpod", file, "--passphrase-file", "-", "--json"], {
    input: `${TAZPOD_PASSPHRASE}\n`,
  });
  const r = JSON.parse(out);
  assert.equal(r.dryRun, false);
  assert.deepEqual(
    r.secrets.map((s: { name: string; size: number; action: string }) => [s.name, s.size, s.action]),
    [
      ["github/token", TOKEN.length, "create"],
      ["ssh/id_ed25519", 4096, "create"],
      ["vault-unseal-key-1", UNSEAL.length, "create"],
    ],
  );
  assert.deepEqual(r.skipped, [
    { entry: ".vault_pass", reason: "TazPod's cached passphrase (.vault_pass); never imported" },
  ]);
  assert.ok(!out.includes(TOKEN));
});

test("import: a wrong passphrase is exit 3 and the vault is unchanged", async () => {
  const { sb } = await vault("imp-wrong");
  await sb.ok(["set", "keep"], { input: "kept" });
  const before = readFileSync(sb.vaultFile);
  const file = saveTazpod(sb, await makeTazpodFile(GOOD));
  const r = await sb.run(["import", "tazpod", file, "--passphrase-file", "-"], { input: "not it\n" });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /wrong passphrase \(or not a TazPod vault\)/);
  assert.deepEqual(readFileSync(sb.vaultFile), before);
  assert.deepEqual(await secretNames(sb), ["keep"]);
});

test("import: a damaged file is exit 4 (too short, not gzip) and the vault is unchanged", async () => {
  const { sb, tazPass } = await vault("imp-corrupt");
  const before = readFileSync(sb.vaultFile);
  const short = saveTazpod(sb, randomBytes(40));
  const r1 = await sb.run(["import", "tazpod", short, "--passphrase-file", tazPass]);
  assert.equal(r1.code, 4, r1.stderr);
  assert.match(r1.stderr, /too short \(40 bytes/);
  const notGzip = saveTazpod(sb, tazpodEncrypt(Buffer.from("a plain tar? no, plain text")));
  const r2 = await sb.run(["import", "tazpod", notGzip, "--passphrase-file", tazPass]);
  assert.equal(r2.code, 4, r2.stderr);
  assert.match(r2.stderr, /not gzip data/);
  assert.deepEqual(readFileSync(sb.vaultFile), before);
  assert.deepEqual(await secretNames(sb), []);
  const missing = await sb.run(["import", "tazpod", join(sb.home, "nope.aes"), "--passphrase-file", tazPass]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read .*nope\.aes: ENOENT/);
});

test("import: a gzip bomb is refused with exit 4 and nothing is imported", async () => {
  const { sb, tazPass } = await vault("imp-bomb");
  const file = saveTazpod(
    sb,
    await makeTazpodFile([
      { name: "first", content: "x" },
      { name: "bomb", zeros: 256 * 1024 * 1024 + 1 },
    ]),
  );
  const r = await sb.run(["import", "tazpod", file, "--passphrase-file", tazPass]);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /decompresses to more than 256 MiB/);
  assert.deepEqual(await secretNames(sb), []);
});

test("import: a locked vault is exit 6, before any passphrase is asked", async () => {
  const { sb } = await vault("imp-locked", false);
  const file = saveTazpod(sb, await makeTazpodFile(GOOD));
  // A passphrase file that does not exist: reading it would fail with exit 1, so 6 proves the order.
  const r = await sb.run(["import", "tazpod", file, "--passphrase-file", join(sb.home, "no-such-file")]);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /locked/);
});

test("import: existing names are refused (exit 1, listed, nothing imported); --overwrite replaces", async () => {
  const { sb, tazPass } = await vault("imp-clash");
  await sb.ok(["set", "github/token"], { input: "old-token" });
  const before = readFileSync(sb.vaultFile);
  const file = saveTazpod(sb, await makeTazpodFile(GOOD));
  const r = await sb.run(["import", "tazpod", file, "--passphrase-file", tazPass]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /nothing was imported: 1 name\(s\) already exist in the vault: github\/token/);
  assert.match(r.stderr, /--overwrite/);
  assert.deepEqual(readFileSync(sb.vaultFile), before);
  assert.deepEqual(await secretNames(sb), ["github/token"]);
  assert.equal(await sb.ok(["get", "github/token"]), "old-token");

  const o = JSON.parse(
    await sb.ok(["import", "tazpod", file, "--passphrase-file", tazPass, "--overwrite", "--json"]),
  );
  const token = o.secrets.find((s: { name: string }) => s.name === "github/token");
  assert.deepEqual([token.action, token.changed], ["overwrite", true]);
  assert.equal(await sb.ok(["get", "github/token"]), TOKEN);
  assert.deepEqual(await secretNames(sb), ["github/token", "ssh/id_ed25519", "vault-unseal-key-1"]);
});

test("import: a secret cannot become a folder: refused even with --overwrite", async () => {
  const { sb, tazPass } = await vault("imp-folder");
  await sb.ok(["set", "github"], { input: "a file named github" });
  const file = saveTazpod(sb, await makeTazpodFile(GOOD));
  const r = await sb.run(["import", "tazpod", file, "--passphrase-file", tazPass, "--overwrite"]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /both a secret and a folder: github\/token \(the vault has github\)/);
  assert.deepEqual(await secretNames(sb), ["github"]);
});

test("import: --prefix puts everything under P/; an invalid prefix is a usage error", async () => {
  const { sb, tazPass } = await vault("imp-prefix");
  await sb.ok(["set", "github/token"], { input: "mine" });
  const file = saveTazpod(sb, await makeTazpodFile(GOOD));
  await sb.ok(["import", "tazpod", file, "--passphrase-file", tazPass, "--prefix", "tazpod/"]);
  assert.deepEqual(await secretNames(sb), [
    "github/token",
    "tazpod/github/token",
    "tazpod/ssh/id_ed25519",
    "tazpod/vault-unseal-key-1",
  ]);
  assert.equal(await sb.ok(["get", "github/token"]), "mine");
  assert.deepEqual((await sb.run(["get", "tazpod/ssh/id_ed25519"])).stdout, BINARY);
  const bad = await sb.run(["import", "tazpod", file, "--passphrase-file", tazPass, "--prefix", "../up"]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--prefix/);
});

test("import --dry-run lists names and sizes, never values, and changes nothing", async () => {
  const { sb, tazPass } = await vault("imp-dry");
  await sb.ok(["set", "vault-unseal-key-1"], { input: "existing" });
  const before = readFileSync(sb.vaultFile);
  const file = saveTazpod(sb, await makeTazpodFile([...GOOD, ...HOSTILE_ENTRIES]));
  const dryRun = ["import", "tazpod", file, "--passphrase-file", tazPass, "--dry-run"];
  const text = await sb.run([...dryRun, "--overwrite"]);
  assert.equal(text.code, 0, text.stderr);
  const out = text.stdout.toString();
  assert.match(out, /NAME\s+SIZE\s+ACTION/);
  assert.match(out, /github\/token\s+\d+ B\s+create/);
  assert.match(out, /ssh\/id_ed25519\s+4\.0 KiB\s+create/);
  assert.match(out, /vault-unseal-key-1\s+\d+ B\s+overwrite/);
  assert.match(text.stderr, /"\.\.\/escape": path contains '\.\.'/);
  assert.match(text.stderr, /dry run: 3 secret\(s\) would be imported, 11 skipped; nothing was changed/);
  for (const s of [TOKEN, UNSEAL.trim()]) assert.ok(!out.includes(s) && !text.stderr.includes(s));
  assert.ok(out.indexOf(BINARY.subarray(0, 16).toString("latin1")) === -1);
  // Without --overwrite the dry run shows the plan and says the real run would be refused.
  const refused = await sb.run([...dryRun, "--json"]);
  assert.equal(refused.code, 1);
  const plan = JSON.parse(refused.stdout.toString());
  assert.equal(plan.dryRun, true);
  assert.deepEqual(plan.clashes, ["vault-unseal-key-1"]);
  assert.match(plan.refusal, /already exist/);
  assert.equal(plan.secrets.length, 3);
  assert.equal(plan.skipped.length, HOSTILE_ENTRIES.length);
  assert.ok(!refused.stdout.toString().includes(TOKEN));
  assert.deepEqual(readFileSync(sb.vaultFile), before);
  assert.deepEqual(await secretNames(sb), ["vault-unseal-key-1"]);
});
