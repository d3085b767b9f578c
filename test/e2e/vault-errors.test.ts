/** Bad input through the built CLI: each class gets its exit code, a clear message, and loses nothing. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FAST_KDF, makeSandbox, type Sandbox, sandboxPool } from "../helpers/cli.js";

const { sandbox, vault } = sandboxPool({ unlock: false });

/** Run `unlock` against a damaged copy of the vault and check: exit 4, no stack, no unlock, file untouched. */
async function expectCorrupt(sb: Sandbox, bytes: Buffer, what: string, message?: RegExp): Promise<void> {
  writeFileSync(sb.vaultFile, bytes);
  const r = await sb.run(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(r.code, 4, `${what}: exit ${r.code} ${r.stderr}`);
  assert.match(r.stderr, /corrupted\/truncated/, what);
  if (message) assert.match(r.stderr, message, what);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  assert.equal(existsSync(sb.runtimeDir), false, `${what}: nothing unlocked`);
  assert.deepEqual(readFileSync(sb.vaultFile), bytes, `${what}: vault not modified`);
}

test("a wrong passphrase is exit 3, changes nothing and unlocks nothing", async () => {
  const sb = await vault("wrongpass");
  const before = readFileSync(sb.vaultFile);
  const r = await sb.run(["unlock", "--passphrase-file", "-"], { input: "definitely wrong\n" });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /wrong passphrase/);
  assert.equal(existsSync(sb.runtimeDir), false);
  assert.deepEqual(readFileSync(sb.vaultFile), before);
});

test("a flipped byte at every offset of a small vault is exit 4 (not 3), never a partial unlock", async () => {
  const sb = await vault("flip");
  const good = readFileSync(sb.vaultFile);
  // Two CLI processes at a time keep this quick on two cores.
  const offsets = [...good.keys()];
  for (let i = 0; i < offsets.length; i += 2) {
    const batch = offsets.slice(i, i + 2).map(async (off) => {
      const sub = makeSandbox(`flip${off}`);
      try {
        mkdirSync(sub.home, { recursive: true });
        const bad = Buffer.from(good);
        bad[off]! ^= 0x20;
        await expectCorrupt(sub, bad, `flip at offset ${off}`);
      } finally {
        sub.cleanup();
      }
    });
    await Promise.all(batch);
  }
});

test("truncation at several lengths, a foreign file, an empty file, an unknown version: exit 4 with what is wrong", async () => {
  const sb = await vault("trunc");
  const good = readFileSync(sb.vaultFile);
  for (const n of [0, 1, 7, 8, 60, 88, 135, 136, good.length - 33, good.length - 1])
    await expectCorrupt(
      sb,
      good.subarray(0, n),
      `truncated to ${n}`,
      n === 0 ? /empty/ : /truncated|not an enclave/,
    );
  await expectCorrupt(
    sb,
    Buffer.from("-----BEGIN PGP MESSAGE-----\nhello\n"),
    "foreign",
    /not an enclave vault/,
  );
  const v9 = Buffer.from(good);
  v9.writeUInt16BE(9, 8);
  createHash("sha256")
    .update(v9.subarray(0, v9.length - 32))
    .digest()
    .copy(v9, v9.length - 32);
  await expectCorrupt(sb, v9, "version 9", /unsupported format version 9/);
  writeFileSync(sb.vaultFile, good);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
});

test("a corrupted vault is exit 4 for an unlocked session's commands too, and set does not overwrite it", async () => {
  const sb = await vault("corrupt-open", { unlock: true });
  const bad = readFileSync(sb.vaultFile).subarray(0, 100);
  writeFileSync(sb.vaultFile, bad);
  for (const args of [["get", "x"], ["ls"], ["set", "x"]]) {
    const r = await sb.run(args, { input: "v" });
    assert.equal(r.code, 4, `${args.join(" ")}: ${r.stderr}`);
  }
  assert.deepEqual(readFileSync(sb.vaultFile), bad);
});

test("commands that need an unlocked vault exit 6 and say how to unlock", async () => {
  const sb = await vault("locked");
  for (const args of [["get", "x"], ["set", "x"], ["ls"], ["rm", "x"], ["passwd"]]) {
    const r = await sb.run(args, { input: "value" });
    assert.equal(r.code, 6, args.join(" "));
    assert.match(r.stderr, /enclave unlock/);
  }
  const none = sandbox("noinit");
  for (const args of [["unlock", "--passphrase-file", none.passFile], ["get", "x"], ["ls"]]) {
    const r = await none.run(args);
    assert.equal(r.code, 6, args.join(" "));
    assert.match(r.stderr, /enclave init/);
  }
});

test("init refuses to overwrite an existing vault", async () => {
  const sb = await vault("noover");
  const before = readFileSync(sb.vaultFile);
  const r = await sb.run(["init", "--kdf", FAST_KDF, "--passphrase-file", sb.passFile]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already exists/);
  assert.deepEqual(readFileSync(sb.vaultFile), before);
});

test("usage errors are exit 2: unknown command or option, missing or extra argument, bad values", async () => {
  const sb = await vault("usage", { unlock: true });
  const cases: [string[], RegExp][] = [
    [["frobnicate"], /unknown command/],
    [["ls", "--bogus"], /unknown option/],
    [["get"], /missing required argument/],
    [["set", "name", "value-on-argv"], /too many arguments/],
    [["set", "../escape"], /invalid secret name/],
    [["set", ".hidden"], /invalid secret name/],
    [["unlock", "--ttl", "forever", "--passphrase-file", sb.passFile], /not a duration/],
    [["init", "--kdf", "argon2id:m=1024,t=1"], /below the floor/],
    [["init", "--kdf", "bcrypt"], /unknown algorithm/],
  ];
  for (const [args, msg] of cases) {
    const r = await sb.run(args, { input: "v" });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, msg, args.join(" "));
  }
  const empty = await sb.run(["set", "empty"], { input: "" });
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /empty/);
});

test("no terminal and no --passphrase-file: a clear usage error instead of a hang", async () => {
  const sb = sandbox("notty");
  const r = await sb.run(["init"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--passphrase-file/);
  assert.equal(existsSync(sb.vaultFile), false);
});

test("a short passphrase is refused at init; a missing passphrase file is a clear error", async () => {
  const sb = sandbox("short");
  const r = await sb.run(["init", "--kdf", FAST_KDF, "--passphrase-file", "-"], { input: "short\n" });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /at least 8 bytes/);
  const m = await sb.run(["init", "--passphrase-file", join(sb.home, "missing")]);
  assert.equal(m.code, 1);
  assert.match(m.stderr, /cannot read passphrase file .*ENOENT/);
  assert.equal(existsSync(sb.vaultFile), false);
});

test("a malformed config.yaml is a clear error and the vault is untouched", async () => {
  const sb = await vault("config");
  const before = readFileSync(sb.vaultFile);
  writeFileSync(join(sb.home, "config.yaml"), "remote: [unclosed\n");
  let r = await sb.run(["status"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /config\.yaml is not valid YAML/);
  writeFileSync(join(sb.home, "config.yaml"), "remote: 42\nunknownKey: x\n");
  r = await sb.run(["status"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /config\.yaml is invalid \(remote: .*unknownKey|config\.yaml is invalid/);
  assert.deepEqual(readFileSync(sb.vaultFile), before);
});

test("a runtime directory on disk is refused unless --allow-disk, which warns", async () => {
  const sb = await vault("disk");
  const diskDir = mkdtempSync(join(tmpdir(), "enclave-disk-rt-"));
  try {
    const env = { ENCLAVE_RUNTIME_DIR: join(diskDir, "rt") };
    const r = await sb.run(["unlock", "--passphrase-file", sb.passFile], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not tmpfs\/ramfs.*--allow-disk/);
    assert.equal(existsSync(join(diskDir, "rt")), false);
    const ok = await sb.run(["unlock", "--passphrase-file", sb.passFile, "--allow-disk"], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /warning: .* is not in RAM/);
    assert.equal((await sb.run(["lock"], { env })).code, 0);
  } finally {
    rmSync(diskDir, { recursive: true, force: true });
  }
});

test("a runtime directory enclave did not make, or that others can read, is refused and left alone", async () => {
  const sb = await vault("foreign-rt");
  mkdirSync(sb.runtimeDir, { mode: 0o700 });
  writeFileSync(join(sb.runtimeDir, "someone-elses-file"), "keep me");
  let r = await sb.run(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not empty and was not made by enclave/);
  assert.equal(readFileSync(join(sb.runtimeDir, "someone-elses-file"), "utf8"), "keep me");
  rmSync(sb.runtimeDir, { recursive: true });
  mkdirSync(sb.runtimeDir, { mode: 0o755 });
  (await import("node:fs")).chmodSync(sb.runtimeDir, 0o755);
  r = await sb.run(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /accessible to others/);
});

test("two homes sharing one runtime directory: the second is told, nothing is mixed", async () => {
  const a = await vault("share-a", { unlock: true });
  const b = await vault("share-b");
  const env = { ENCLAVE_RUNTIME_DIR: a.runtimeDir };
  const r = await b.run(["unlock", "--passphrase-file", b.passFile], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /holds the unlocked vault/);
  assert.equal(JSON.parse(await a.ok(["status", "--json"])).unlocked, true);
});

test("--help works on every command", async () => {
  const sb = sandbox("help");
  for (const cmd of [
    [],
    ["init"],
    ["unlock"],
    ["lock"],
    ["status"],
    ["set"],
    ["get"],
    ["ls"],
    ["rm"],
    ["passwd"],
  ]) {
    const r = await sb.run([...cmd, "--help"]);
    assert.equal(r.code, 0, cmd.join(" "));
    assert.match(r.stdout.toString(), /Usage: enclave/, cmd.join(" "));
  }
});
