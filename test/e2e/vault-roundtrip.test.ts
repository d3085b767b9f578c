/** The vault's everyday path through the built CLI: init, unlock, set/get/ls/rm, lock, passwd. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { filesUnder, PASSPHRASE, sandboxPool, secretNames } from "../helpers/cli.js";

const { sandbox, vault, tempDir } = sandboxPool();

test("round trip: set from stdin, file and binary; get returns the exact bytes, also after lock/unlock", async () => {
  const sb = await vault("rt");
  const binary = randomBytes(4096);
  const keyFile = join(tempDir("enclave-rt-key-"), "key.bin");
  writeFileSync(keyFile, binary);
  await sb.ok(["set", "github/token"], { input: "ghp_roundtrip_value" });
  await sb.ok(["set", "ssh/id", "--from-file", keyFile]);
  await sb.ok(["set", "with-newline"], { input: "line\n" });
  const check = async () => {
    assert.equal((await sb.run(["get", "github/token"])).stdout.toString(), "ghp_roundtrip_value");
    assert.deepEqual((await sb.run(["get", "ssh/id"])).stdout, binary);
    assert.equal((await sb.run(["get", "with-newline"])).stdout.toString(), "line\n");
  };
  await check();
  // The RAM copy: one file per secret, names with / as folders, private modes.
  assert.deepEqual(readFileSync(join(sb.runtimeDir, "ssh/id")), binary);
  assert.equal(statSync(join(sb.runtimeDir, "github/token")).mode & 0o777, 0o600);
  assert.equal(statSync(join(sb.runtimeDir, "github")).mode & 0o777, 0o700);
  assert.equal(statSync(sb.runtimeDir).mode & 0o777, 0o700);
  assert.equal(statSync(sb.vaultFile).mode & 0o777, 0o600);
  assert.equal(statSync(sb.home).mode & 0o777, 0o700);
  await sb.ok(["lock"]);
  assert.equal(existsSync(sb.runtimeDir), false, "lock removes the runtime directory");
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  await check();
});

test("ls lists names and metadata, never values; --json is machine-readable", async () => {
  const sb = await vault("ls");
  await sb.ok(["set", "b/two"], { input: "value-two" });
  await sb.ok(["set", "a"], { input: "value-one" });
  const list = JSON.parse(await sb.ok(["ls", "--json"])) as {
    name: string;
    size: number;
    createdAt: string;
  }[];
  assert.deepEqual(
    list.map((s) => [s.name, s.size]),
    [
      ["a", 9],
      ["b/two", 9],
    ],
  );
  assert.ok(!Number.isNaN(Date.parse(list[0]!.createdAt)));
  const text = await sb.ok(["ls"]);
  assert.match(text, /b\/two/);
  assert.doesNotMatch(text, /value-/);
});

test("set replaces, rm deletes from vault and RAM, unknown names fail clearly", async () => {
  const sb = await vault("rm");
  await sb.ok(["set", "k"], { input: "one" });
  await sb.ok(["set", "k"], { input: "two" });
  assert.equal(await sb.ok(["get", "k"]), "two");
  await sb.ok(["set", "dir/k"], { input: "x" });
  await sb.ok(["rm", "dir/k"]);
  assert.equal(existsSync(join(sb.runtimeDir, "dir")), false, "empty folders go with the secret");
  const r = await sb.run(["get", "dir/k"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no secret named "dir\/k"/);
  assert.equal((await sb.run(["rm", "nope"])).code, 1);
});

test("status --json reports the documented fields, locked and unlocked", async () => {
  const sb = await vault("status", { unlock: false });
  const locked = JSON.parse(await sb.ok(["status", "--json"]));
  assert.equal(locked.initialized, true);
  assert.equal(locked.unlocked, false);
  assert.equal(locked.secrets, null);
  assert.equal(locked.vaultFile, sb.vaultFile);
  assert.equal(locked.runtimeDir, sb.runtimeDir);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile, "--ttl", "2h"]);
  await sb.ok(["set", "x"], { input: "1" });
  const open = JSON.parse(await sb.ok(["status", "--json"]));
  for (const k of ["initialized", "unlocked", "vaultFile", "runtimeDir", "expiresAt", "remote", "secrets"])
    assert.ok(k in open, k);
  assert.equal(open.unlocked, true);
  assert.equal(open.secrets, 1);
  const ttl = Date.parse(open.expiresAt) - Date.now();
  assert.ok(ttl > 1.9 * 3600_000 && ttl <= 2 * 3600_000, `expiresAt ~2h ahead, got ${ttl} ms`);
  const fresh = sandbox("status-none");
  const none = JSON.parse(await fresh.ok(["status", "--json"]));
  assert.equal(none.initialized, false);
});

test("no plaintext (values or names) reaches ENCLAVE_HOME after set, lock, unlock", async () => {
  const sb = await vault("noplain");
  const value = `leak-canary-${randomBytes(8).toString("hex")}`;
  const name = `canaryname${randomBytes(4).toString("hex")}`;
  const r = await sb.run(["set", `deep/${name}`], { input: value });
  assert.equal(r.code, 0);
  assert.ok(
    !r.stderr.includes(value) && !r.stdout.toString().includes(value),
    "set echoes nothing of the value",
  );
  await sb.ok(["lock"]);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  await sb.ok(["set", "another"], { input: value });
  const files = filesUnder(sb.home);
  assert.ok(files.length > 0);
  for (const f of files) {
    const bytes = readFileSync(f);
    for (const needle of [value, name, "deep/", "another"])
      for (const enc of [
        Buffer.from(needle),
        Buffer.from(Buffer.from(needle).toString("hex")),
        Buffer.from(Buffer.from(needle).toString("base64")),
      ])
        assert.equal(bytes.indexOf(enc), -1, `${needle} found in ${f}`);
  }
  // The passphrase is not stored anywhere either (home or RAM).
  for (const f of [...files, ...filesUnder(sb.runtimeDir)])
    assert.equal(readFileSync(f).indexOf(PASSPHRASE), -1, f);
});

test("lock saves what changed in the RAM directory; --discard does not", async () => {
  const sb = await vault("pending");
  await sb.ok(["set", "keep"], { input: "k" });
  await sb.ok(["set", "edit"], { input: "old" });
  await sb.ok(["set", "drop"], { input: "d" });
  writeFileSync(join(sb.runtimeDir, "edit"), "new");
  writeFileSync(join(sb.runtimeDir, "added"), "a");
  writeFileSync(join(sb.runtimeDir, ".edit.swp"), "editor junk");
  (await import("node:fs")).unlinkSync(join(sb.runtimeDir, "drop"));
  const r = JSON.parse(await sb.ok(["lock", "--json"]));
  assert.deepEqual(
    [r.added, r.changed, r.removed, r.discarded],
    [["added"], ["edit"], ["drop"], [".edit.swp"]],
  );
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  const names = await secretNames(sb);
  assert.deepEqual(names, ["added", "edit", "keep"]);
  assert.equal(await sb.ok(["get", "edit"]), "new");
  writeFileSync(join(sb.runtimeDir, "edit"), "unsaved");
  await sb.ok(["lock", "--discard"]);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(await sb.ok(["get", "edit"]), "new");
});

test("lock refuses to lose a file whose name cannot be a secret, until --discard", async () => {
  const sb = await vault("invalid");
  writeFileSync(join(sb.runtimeDir, "has space"), "precious");
  const r = await sb.run(["lock"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has space/);
  assert.match(r.stderr, /--discard/);
  assert.ok(existsSync(join(sb.runtimeDir, "has space")), "nothing wiped");
  await sb.ok(["lock", "--discard"]);
  assert.equal(existsSync(sb.runtimeDir), false);
});

test("--link makes a symlink to the runtime directory; lock removes it", async () => {
  const sb = await vault("link", { unlock: false });
  const link = join(sb.home, "secrets");
  await sb.ok(["unlock", "--passphrase-file", sb.passFile, "--link", link]);
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.equal(readlinkSync(link), sb.runtimeDir);
  await sb.ok(["set", "t"], { input: "via-link" });
  assert.equal(readFileSync(join(link, "t"), "utf8"), "via-link");
  await sb.ok(["lock"]);
  assert.equal(
    existsSync(link) ||
      (() => {
        try {
          return lstatSync(link).isSymbolicLink();
        } catch {
          return false;
        }
      })(),
    false,
  );
});

test("unlocking again extends the TTL and keeps the files; the passphrase is still checked", async () => {
  const sb = await vault("again");
  await sb.ok(["set", "x"], { input: "1" });
  const r = JSON.parse(await sb.ok(["unlock", "--passphrase-file", sb.passFile, "--ttl", "3h", "--json"]));
  assert.equal(r.alreadyUnlocked, true);
  assert.ok(Date.parse(r.expiresAt) - Date.now() > 2.9 * 3600_000);
  assert.equal(await sb.ok(["get", "x"]), "1");
  assert.equal((await sb.run(["unlock", "--passphrase-file", "-"], { input: "wrong passphrase!" })).code, 3);
});

test("passwd: the new passphrase opens the vault, the old one no longer does", async () => {
  const sb = await vault("passwd");
  await sb.ok(["set", "s"], { input: "survives" });
  const wrong = await sb.run(["passwd", "--passphrase-file", "-", "--new-passphrase-file", "-"], {
    input: "not the passphrase\nnew passphrase 123\n",
  });
  assert.equal(wrong.code, 3);
  await sb.ok(["passwd", "--passphrase-file", "-", "--new-passphrase-file", "-"], {
    input: `${PASSPHRASE}\nnew passphrase 123\n`,
  });
  await sb.ok(["set", "after"], { input: "still works in this session" });
  await sb.ok(["lock"]);
  assert.equal((await sb.run(["unlock", "--passphrase-file", sb.passFile])).code, 3);
  await sb.ok(["unlock", "--passphrase-file", "-"], { input: "new passphrase 123\n" });
  assert.equal(await sb.ok(["get", "s"]), "survives");
  assert.equal(await sb.ok(["get", "after"]), "still works in this session");
});

test("the passphrase can come from stdin", async () => {
  const sb = sandbox("stdin");
  await sb.ok(["init", "--kdf", "argon2id:m=19456,t=2,p=1", "--passphrase-file", "-"], {
    input: `${PASSPHRASE}\n`,
  });
  await sb.ok(["unlock", "--passphrase-file", "-"], { input: PASSPHRASE });
  assert.equal(JSON.parse(await sb.ok(["status", "--json"])).unlocked, true);
});

test("init --remote records the remote in config.yaml; status shows it", async () => {
  const sb = sandbox("remote");
  await sb.ok([
    "init",
    "--kdf",
    "argon2id:m=19456,t=2,p=1",
    "--passphrase-file",
    sb.passFile,
    "--remote",
    "s3://bucket/vault.enc",
  ]);
  assert.equal(JSON.parse(await sb.ok(["status", "--json"])).remote, "s3://bucket/vault.enc");
});

test("a session whose key went stale (passphrase changed from another session) recovers with unlock", async () => {
  const sb = await vault("stale");
  await sb.ok(["set", "x"], { input: "1" });
  const other = { ENCLAVE_RUNTIME_DIR: `${sb.runtimeDir}-other` };
  assert.equal((await sb.run(["unlock", "--passphrase-file", sb.passFile], { env: other })).code, 0);
  const pw = await sb.run(["passwd", "--passphrase-file", "-", "--new-passphrase-file", "-"], {
    env: other,
    input: `${PASSPHRASE}\nchanged elsewhere 1\n`,
  });
  assert.equal(pw.code, 0, pw.stderr);
  await sb.run(["lock"], { env: other });
  writeFileSync(join(sb.runtimeDir, "pending"), "edited before the change was noticed");
  const stale = await sb.run(["ls"]);
  assert.equal(stale.code, 6);
  assert.match(stale.stderr, /passphrase changed.*enclave unlock/);
  await sb.ok(["unlock", "--passphrase-file", "-"], { input: "changed elsewhere 1\n" });
  assert.equal(await sb.ok(["get", "x"]), "1");
  await sb.ok(["lock"]);
  await sb.ok(["unlock", "--passphrase-file", "-"], { input: "changed elsewhere 1\n" });
  assert.equal(await sb.ok(["get", "pending"]), "edited before the change was noticed");
});

test("unlockTtl in config.yaml sets the default TTL", async () => {
  const sb = await vault("cfgttl", { unlock: false });
  writeFileSync(join(sb.home, "config.yaml"), "unlockTtl: 45m\n");
  const r = JSON.parse(await sb.ok(["unlock", "--passphrase-file", sb.passFile, "--json"]));
  const ttl = Date.parse(r.expiresAt) - Date.now();
  assert.ok(ttl > 44 * 60_000 && ttl <= 45 * 60_000, `ttl ${ttl}`);
});
