/** Reading TazPod vaults in memory: decryption, bounded gunzip, safe tar reading, name rules. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { AuthError, EnclaveError, ExitCode, UsageError } from "../../src/errors.js";
import { normalizePrefix } from "../../src/import/apply.js";
import { normalizeEntryPath, readTar } from "../../src/import/tar-reader.js";
import {
  DEFAULT_TAZPOD_LIMITS,
  readTazpodVault,
  splitTazpodFile,
  TAZPOD_PASS_CACHE,
  type TazpodContents,
  TazpodFormatError,
  type TazpodLimits,
} from "../../src/import/tazpod.js";
import {
  type FixtureEntry,
  HOSTILE_ENTRIES,
  makeTazpodFile,
  TAZPOD_PASSPHRASE,
  tarGz,
  tazpodEncrypt,
} from "../helpers/tazpod.js";

const pass = () => Buffer.from(TAZPOD_PASSPHRASE);

async function read(file: Buffer, limits?: TazpodLimits): Promise<TazpodContents> {
  return readTazpodVault(splitTazpodFile(file), pass(), { file: "vault.tar.aes", limits });
}

/** name → value as text/bytes, for compact assertions. */
const byName = (c: TazpodContents) => new Map(c.secrets.map((s) => [s.name, s.value]));

/** The skip reason recorded for an archive entry. */
function reasonFor(c: TazpodContents, entry: string): string | undefined {
  return c.skipped.find((s) => s.entry === entry)?.reason;
}

async function rejectsWithExit(p: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof EnclaveError, `expected an EnclaveError, got ${e}`);
    assert.equal(e.exitCode, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

test("a TazPod vault decrypts into its regular files, byte for byte, sorted by name", async () => {
  const binary = randomBytes(4096);
  const longName = `deep/${"x".repeat(120)}/${"y".repeat(100)}`; // needs ustar prefix / pax
  const file = await makeTazpodFile([
    { name: "github", type: "directory" },
    { name: "github/token", content: "ghp_abc\n" },
    { name: "ssh/id_ed25519", content: binary },
    { name: "vault-unseal-key-1", content: "k1" },
    { name: longName, content: "long" },
  ]);
  const c = await read(file);
  assert.deepEqual(
    c.secrets.map((s) => s.name),
    [longName, "github/token", "ssh/id_ed25519", "vault-unseal-key-1"],
  );
  const v = byName(c);
  assert.equal(v.get("github/token")!.toString(), "ghp_abc\n");
  assert.deepEqual(v.get("ssh/id_ed25519"), binary);
  assert.deepEqual(c.skipped, []);
  assert.equal(c.topFolder, null);
});

test("hostile entries are skipped and each is reported with its reason; only safe files come out", async () => {
  const file = await makeTazpodFile([{ name: "github/token", content: "real" }, ...HOSTILE_ENTRIES]);
  const c = await read(file);
  assert.deepEqual(
    c.secrets.map((s) => s.name),
    ["github/token"],
  );
  assert.match(reasonFor(c, "../escape")!, /'\.\.'/);
  assert.match(reasonFor(c, "a/../../escape2")!, /'\.\.'/);
  assert.match(reasonFor(c, "/etc/cron.d/evil")!, /absolute path/);
  assert.match(reasonFor(c, "passwd-link")!, /symbolic link.*\/etc\/passwd/);
  assert.match(reasonFor(c, "hard-link")!, /hard link/);
  assert.match(reasonFor(c, "dev-null")!, /device/);
  assert.match(reasonFor(c, "pipe")!, /pipe/);
  assert.match(reasonFor(c, TAZPOD_PASS_CACHE)!, /cached passphrase/);
  assert.match(reasonFor(c, ".aws/config")!, /hidden file/);
  assert.match(reasonFor(c, "has space")!, /not a valid enclave secret name/);
  assert.match(reasonFor(c, "empty")!, /empty file/);
  assert.equal(c.skipped.length, HOSTILE_ENTRIES.length, JSON.stringify(c.skipped));
  // Reasons never carry a value: not the cached passphrase, not file contents.
  for (const s of c.skipped)
    assert.ok(!s.reason.includes(TAZPOD_PASSPHRASE) && !s.reason.includes("escaped-value"));
});

test("the top folder secrets/ or ./ is stripped; a lone folder of secrets is not", async () => {
  const under = async (entries: FixtureEntry[]) => read(await makeTazpodFile(entries));
  const secretsDir = await under([
    { name: "secrets/", type: "directory" },
    { name: "secrets/github/token", content: "t" },
    { name: "secrets/.vault_pass", content: TAZPOD_PASSPHRASE },
  ]);
  assert.equal(secretsDir.topFolder, "secrets");
  assert.deepEqual(
    secretsDir.secrets.map((s) => s.name),
    ["github/token"],
  );
  assert.match(reasonFor(secretsDir, "secrets/.vault_pass")!, /cached passphrase/);

  const dot = await under([
    { name: "./", type: "directory" },
    { name: "./a", content: "1" },
    { name: "./b/c", content: "2" },
  ]);
  assert.deepEqual(
    dot.secrets.map((s) => s.name),
    ["a", "b/c"],
  );
  assert.equal(dot.topFolder, null);

  // TazPod's own writer names entries relative to the folder: github/ is a real folder of secrets.
  const lone = await under([
    { name: "github", type: "directory" },
    { name: "github/token", content: "t" },
  ]);
  assert.deepEqual(
    lone.secrets.map((s) => s.name),
    ["github/token"],
  );
  // secrets/ is not stripped when other things sit beside it.
  const mixed = await under([
    { name: "secrets/a", content: "1" },
    { name: "b", content: "2" },
  ]);
  assert.deepEqual(
    mixed.secrets.map((s) => s.name),
    ["b", "secrets/a"],
  );
});

test("a later entry with the same name wins; the earlier one is reported", async () => {
  const c = await read(
    await makeTazpodFile([
      { name: "k", content: "old" },
      { name: "./k", content: "new" },
    ]),
  );
  assert.equal(byName(c).get("k")!.toString(), "new");
  assert.match(reasonFor(c, "k")!, /replaced by a later entry/);
});

test("a file that is also a folder of other files is a broken archive (exit 4)", async () => {
  const file = await makeTazpodFile([
    { name: "db", content: "1" },
    { name: "db/password", content: "2" },
  ]);
  await rejectsWithExit(read(file), ExitCode.corrupt, /both "db" and "db\/password"/);
});

test("a wrong passphrase is exit 3, 'wrong passphrase (or not a TazPod vault)'", async () => {
  const file = await makeTazpodFile([{ name: "a", content: "1" }]);
  const p = readTazpodVault(splitTazpodFile(file), Buffer.from("not the passphrase"), { file: "v" });
  await assert.rejects(p, AuthError);
  await rejectsWithExit(
    readTazpodVault(splitTazpodFile(file), Buffer.from("nope"), { file: "v" }),
    ExitCode.auth,
    /wrong passphrase \(or not a TazPod vault\)/,
  );
  // A flipped ciphertext bit fails authentication the same way.
  const flipped = Buffer.from(file);
  flipped[50]! ^= 1;
  await rejectsWithExit(read(flipped), ExitCode.auth, /wrong passphrase/);
});

test("the passphrase buffer is left to the caller, intact", async () => {
  const file = await makeTazpodFile([{ name: "a", content: "1" }]);
  const p = pass();
  await readTazpodVault(splitTazpodFile(file), p, {});
  assert.equal(p.toString(), TAZPOD_PASSPHRASE);
});

test("too short, not gzip, truncated gzip and not tar are exit 4, each saying what is wrong", async () => {
  assert.throws(
    () => splitTazpodFile(Buffer.alloc(59), "f"),
    (e: unknown) =>
      e instanceof TazpodFormatError && e.exitCode === 4 && /too short \(59 bytes/.test(e.message),
  );
  await rejectsWithExit(read(tazpodEncrypt(Buffer.from("plain text, not gzip"))), 4, /not gzip data/);
  const gz = await tarGz([{ name: "a", content: "x".repeat(5000) }]);
  await rejectsWithExit(read(tazpodEncrypt(gz.subarray(0, gz.length - 20))), 4, /gzip data is truncated/);
  await rejectsWithExit(
    read(tazpodEncrypt(gzipSync(Buffer.from("x".repeat(2000))))),
    4,
    /not a usable tar archive/,
  );
  // A tar cut in the middle of an entry.
  const tar = gunzipSync(gz);
  await rejectsWithExit(read(tazpodEncrypt(gzipSync(tar.subarray(0, 1500)))), 4, /not a usable tar archive/);
});

test("an empty archive is fine: nothing to import", async () => {
  const c = await read(await makeTazpodFile([]));
  assert.deepEqual(c.secrets, []);
  assert.deepEqual(c.skipped, []);
});

test("a gzip bomb of zeros just over the default cap stops with a clear exit 4", async () => {
  const cap = DEFAULT_TAZPOD_LIMITS.maxBytes;
  const file = await makeTazpodFile([{ name: "bomb", zeros: cap + 1 }]);
  assert.ok(file.length < 2 * 1024 * 1024, `the bomb is small when compressed (${file.length} bytes)`);
  await rejectsWithExit(read(file), 4, /decompresses to more than 256 MiB, the import limit/);
});

test("the byte cap is exact: a tar of exactly maxBytes passes, one byte less is refused", async () => {
  const gz = await tarGz([{ name: "a", content: randomBytes(3000) }]);
  const size = gunzipSync(gz).length;
  const file = tazpodEncrypt(gz);
  const ok = await read(file, { maxBytes: size, maxEntries: 10 });
  assert.equal(ok.secrets.length, 1);
  await rejectsWithExit(read(file, { maxBytes: size - 1, maxEntries: 10 }), 4, /decompresses to more than/);
});

test("the entry count is capped (directories and skipped entries count too)", async () => {
  const entries: FixtureEntry[] = [
    { name: "d", type: "directory" },
    { name: "d/a", content: "1" },
    { name: "link", type: "symlink", linkname: "d/a" },
    { name: "d/b", content: "2" },
  ];
  const file = await makeTazpodFile(entries);
  assert.equal((await read(file, { maxBytes: 1 << 20, maxEntries: 4 })).secrets.length, 2);
  await rejectsWithExit(read(file, { maxBytes: 1 << 20, maxEntries: 3 }), 4, /more than 3 entries/);
});

test("readTar never yields a path with '..', an absolute path, or a link", async () => {
  const tar = gunzipSync(await tarGz([{ name: "ok", content: "1" }, ...HOSTILE_ENTRIES]));
  const c = await readTar([tar], { maxEntries: 100 });
  for (const f of c.files) {
    assert.ok(!f.path.startsWith("/") && !f.path.split("/").includes(".."), f.path);
  }
  assert.ok(c.skipped.some((s) => s.entry === "passwd-link"));
});

test("normalizeEntryPath: ./ and empty segments go, .. and absolute paths are refused", () => {
  assert.deepEqual(normalizeEntryPath("./a//b/"), { path: "a/b" });
  assert.deepEqual(normalizeEntryPath("./"), { path: "" });
  assert.ok("problem" in normalizeEntryPath("a/../b"));
  assert.ok("problem" in normalizeEntryPath(".."));
  assert.ok("problem" in normalizeEntryPath("/etc/passwd"));
  assert.deepEqual(normalizeEntryPath("a/..b"), { path: "a/..b" }); // a name, not a traversal
});

test("normalizePrefix drops trailing slashes and refuses what is not a name (exit 2)", () => {
  assert.equal(normalizePrefix("tazpod/"), "tazpod");
  assert.equal(normalizePrefix(undefined), undefined);
  for (const bad of ["../x", "/abs", ".hidden", "a//b", ""])
    assert.throws(() => normalizePrefix(bad), UsageError);
});
