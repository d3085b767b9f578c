/** `enclave shamir split|combine` through the built CLI: every input and output path, and the errors. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { sandboxPool } from "../helpers/cli.js";
import { onTerminal } from "../helpers/pty.js";

const pool = sandboxPool();
const { sandbox, vault } = pool;
const tempDir = () => pool.tempDir("enclave-shamir-");
const shareLinesOf = (stdout: Buffer) => stdout.toString().split("\n").filter(Boolean);

/** No share text and no secret bytes in a message meant for humans. */
function assertClean(stderr: string, secret: Buffer | string, shares: string[] = []): void {
  const s = Buffer.isBuffer(secret) ? secret : Buffer.from(secret);
  for (const needle of [s.toString(), s.toString("hex"), s.toString("base64"), ...shares])
    if (needle.length >= 4) assert.ok(!stderr.includes(needle), `leaked into stderr: ${stderr}`);
}

test("split from stdin, combine from stdin: the exact bytes (binary, trailing newline) come back", async () => {
  const sb = sandbox("sh-stdin");
  const secret = Buffer.concat([randomBytes(40), Buffer.from([0, 10])]);
  const split = await sb.run(["shamir", "split", "--shares", "5", "--threshold", "3"], { input: secret });
  assert.equal(split.code, 0, split.stderr);
  const shares = shareLinesOf(split.stdout);
  assert.equal(shares.length, 5);
  for (const s of shares)
    assert.match(s, /^enclave-share-v1:3:[0-9a-f]{16}:[A-Za-z0-9+/]+=*:[0-9a-f]{32}:[0-9a-f]{32}$/);
  assert.match(split.stderr, /split into 5 shares; any 3 rebuild the secret/);
  assertClean(split.stderr, secret);
  const c = await sb.run(["shamir", "combine"], { input: `${shares[4]}\n${shares[0]}\n\n${shares[2]}\n` });
  assert.equal(c.code, 0, c.stderr);
  assert.deepEqual(c.stdout, secret);
  assert.match(c.stderr, /integrity verified/);
  assertClean(c.stderr, secret, shares);
});

test("split --secret NAME from the unlocked vault; combine from files, --to-secret stores it", async () => {
  const sb = await vault("sh-vault");
  const secret = randomBytes(32);
  await sb.ok(["set", "vault/root"], { input: secret });
  const out = await sb.ok(["shamir", "split", "--secret", "vault/root", "--shares", "4", "--threshold", "2"]);
  const shares = out.split("\n").filter(Boolean);
  assert.equal(shares.length, 4);
  const dir = tempDir();
  const files = shares.map((s, i) => {
    const f = join(dir, `share${i}`);
    writeFileSync(f, `# holder ${i}\n${s}\n`, { mode: 0o600 });
    return f;
  });
  const printed = await sb.run(["shamir", "combine", "--share-file", files[3]!, "--share-file", files[1]!]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.deepEqual(printed.stdout, secret);
  assert.doesNotMatch(printed.stderr, /readable by other users/);
  // --to-secret: nothing on stdout, the value lands in the vault.
  chmodSync(files[0]!, 0o644);
  const stored = await sb.run([
    "shamir",
    "combine",
    "--share-file",
    files[0]!,
    "--share-file",
    files[2]!,
    "--to-secret",
    "vault/root-again",
  ]);
  assert.equal(stored.code, 0, stored.stderr);
  assert.equal(stored.stdout.length, 0);
  assert.match(stored.stderr, /stored vault\/root-again/);
  assert.match(stored.stderr, /readable by other users/);
  assert.deepEqual((await sb.run(["get", "vault/root-again"])).stdout, secret);
  // One file may hold several shares.
  const both = join(dir, "both");
  writeFileSync(both, `${shares[1]}\r\n${shares[2]}\r\n`, { mode: 0o600 });
  assert.deepEqual((await sb.run(["shamir", "combine", "--share-file", both])).stdout, secret);
});

test("combine --from-secret reads shares kept in the vault (repeatable), and --share-file - is stdin", async () => {
  const sb = await vault("sh-fromsecret");
  const secret = Buffer.from("correct horse battery staple, unsealed");
  const shares = shareLinesOf(
    (await sb.run(["shamir", "split", "--shares", "3", "--threshold", "3"], { input: secret })).stdout,
  );
  await sb.ok(["set", "shares/a"], { input: `${shares[0]}\n` });
  await sb.ok(["set", "shares/b"], { input: shares[1]! });
  const r = await sb.run(
    ["shamir", "combine", "--from-secret", "shares/a", "--from-secret", "shares/b", "--share-file", "-"],
    { input: shares[2]! },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout, secret);
  const missing = await sb.run(["shamir", "combine", "--from-secret", "shares/a", "--from-secret", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no secret named "nope"/);
});

test("base64 and hex forms: Vault-layout shares, --json listing, auto-detected by combine", async () => {
  const sb = sandbox("sh-raw");
  const secret = randomBytes(32); // a Vault root key's size: 33-byte unseal-key shares
  for (const format of ["base64", "hex"] as const) {
    const r = await sb.run(["shamir", "split", "--shares", "5", "--threshold", "3", "--format", format], {
      input: secret,
    });
    assert.equal(r.code, 0, r.stderr);
    const shares = shareLinesOf(r.stdout);
    for (const s of shares) {
      const bytes = Buffer.from(s, format);
      assert.equal(bytes.toString(format), s, "canonical encoding");
      assert.equal(bytes.length, 33, "secret bytes + one x byte");
    }
    const c = await sb.run(["shamir", "combine"], { input: [shares[1], shares[3], shares[4]].join("\n") });
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout, secret);
    assert.match(c.stderr, /NOT verified/);
  }
  const j = await sb.run(
    ["shamir", "split", "--shares", "3", "--threshold", "2", "--format", "hex", "--json"],
    {
      input: secret,
    },
  );
  assert.equal(j.code, 0, j.stderr);
  const listing = JSON.parse(j.stdout.toString()) as {
    format: string;
    threshold: number;
    count: number;
    splitId: string | null;
    secretBytes: number;
    shares: { index: number; x: number; share: string }[];
  };
  assert.deepEqual(
    [listing.format, listing.threshold, listing.count, listing.splitId, listing.secretBytes],
    ["hex", 2, 3, null, 32],
  );
  assert.deepEqual(
    listing.shares.map((s) => s.index),
    [1, 2, 3],
  );
  for (const s of listing.shares) assert.equal(Buffer.from(s.share, "hex").at(-1), s.x, "x is the last byte");
  const c = await sb.run(["shamir", "combine"], { input: listing.shares.map((s) => s.share).join("\n") });
  assert.deepEqual(c.stdout, secret);
  const e = JSON.parse(
    (
      await sb.run(["shamir", "split", "--shares", "2", "--threshold", "2", "--json"], { input: "x" })
    ).stdout.toString(),
  );
  assert.match(e.splitId, /^[0-9a-f]{16}$/);
  assert.ok(e.shares[0].share.startsWith(`enclave-share-v1:2:${e.splitId}:`));
});

test("known-answer shares in Vault's layout (hand-evaluated polynomial) combine to the secret", async () => {
  const sb = sandbox("sh-kat");
  // See test/shamir/shamir.test.ts and docs/commands/shamir.md: "secret", K = 3, x = 1, 2, 3, 0x80, 0xff.
  const b64 = ["rf49DdhAAQ==", "aE4AoTC2Ag==", "ttVe3o2CAw==", "ZspaImPJgA==", "VyYWIkz3/w=="];
  const hex = ["adfe3d0dd84001", "684e00a130b602", "b6d55ede8d8203", "66ca5a2263c980", "572616224cf7ff"];
  assert.equal(
    (await sb.ok(["shamir", "combine"], { input: `${b64[0]}\n${b64[3]}\n${b64[4]}\n` })).toString(),
    "secret",
  );
  assert.equal(
    (await sb.ok(["shamir", "combine"], { input: `${hex[1]}\n${b64[2]}\n${hex[4]}` })).toString(),
    "secret",
  );
  const r = await sb.run(["shamir", "combine", "--threshold", "3"], { input: `${b64[0]}\n${b64[1]}\n` });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /3 shares are needed, 2 given/);
  assert.equal(r.stdout.length, 0);
});

test("corrupted shares, another split's share, duplicates and too few: exit 1, nothing on stdout", async () => {
  const sb = sandbox("sh-bad");
  const secret = Buffer.from("the secret that must never be printed by an error");
  const split = async () =>
    shareLinesOf(
      (await sb.run(["shamir", "split", "--shares", "4", "--threshold", "3"], { input: secret })).stdout,
    );
  const a = await split();
  const b = await split();
  const inner = Buffer.from(a[1]!.split(":")[3]!, "base64");
  inner[5]! ^= 0x04;
  const corrupt = a[1]!.split(":");
  corrupt[3] = inner.toString("base64");
  const cases: [string, string[], RegExp][] = [
    ["flipped byte", [a[0]!, corrupt.join(":"), a[2]!], /integrity check failed/],
    ["another split", [a[0]!, b[1]!, a[2]!], /stdin line 2 is from another split/],
    ["duplicate", [a[0]!, a[2]!, a[0]!], /stdin line 3 is the same share as stdin line 1/],
    ["too few", [a[0]!, a[3]!], /3 are needed, 2 given/],
    ["garbage", [a[0]!, "not-a-share", a[2]!], /stdin line 2: not a share/],
    ["unknown version", [`enclave-share-v9:${a[0]!.slice(17)}`, a[1]!, a[2]!], /version/],
    ["mixed forms", [a[0]!, "adfe3d0dd84001", a[2]!], /one form/],
  ];
  for (const [what, lines, message] of cases) {
    const r = await sb.run(["shamir", "combine"], { input: lines.join("\n") });
    assert.equal(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.equal(r.stdout.length, 0, `${what}: nothing printed`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
    assertClean(r.stderr, secret, [...a, ...b]);
  }
  // One bad share among more than K: still verified, and the bad one is named.
  const r = await sb.run(["shamir", "combine"], { input: [a[0], corrupt.join(":"), a[2], a[3]].join("\n") });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout, secret);
  assert.match(r.stderr, /left out stdin line 2/);
});

test("usage errors are exit 2; a locked or missing vault is exit 6 before anything is read", async () => {
  const sb = sandbox("sh-usage");
  const usage: [string[], string | undefined, RegExp | undefined][] = [
    [
      ["shamir", "split", "--shares", "1", "--threshold", "1"],
      "x",
      /--shares must be a whole number from 2 to 255/,
    ],
    [["shamir", "split", "--shares", "256", "--threshold", "2"], "x", /--shares/],
    [["shamir", "split", "--shares", "5", "--threshold", "6"], "x", /--threshold must be .* \(5\)/],
    [["shamir", "split", "--shares", "5", "--threshold", "1"], "x", /--threshold/],
    [["shamir", "split", "--shares", "five", "--threshold", "2"], "x", /whole number/],
    [
      ["shamir", "split", "--shares", "3", "--threshold", "2", "--format", "pem"],
      "x",
      /--format must be one of/,
    ],
    [["shamir", "split", "--threshold", "2"], "x", undefined], // missing --shares (commander)
    [["shamir", "split", "--shares", "3", "--threshold", "2"], "", /the secret is empty/],
    [["shamir", "combine"], "", /no shares on stdin/],
    [["shamir", "combine"], "\n# only a comment\n", /no shares on stdin/],
    [["shamir", "combine", "--format", "pem"], "x", /--format must be/],
    [["shamir", "combine", "--threshold", "1"], "x", /--threshold/],
    [["shamir", "combine", "--to-secret", "../escape"], "x", /invalid secret name/],
    [["shamir", "nope"], undefined, undefined],
  ];
  for (const [args, input, message] of usage) {
    const r = await sb.run(args, { input });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    if (message) assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout.length, 0);
  }
  const missing = await sb.run(["shamir", "combine", "--share-file", "/nonexistent/share"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read share file \/nonexistent\/share: ENOENT/);

  // No vault at all, then a locked one: --secret, --from-secret and --to-secret are exit 6.
  const none = await sb.run(["shamir", "split", "--shares", "3", "--threshold", "2", "--secret", "k"]);
  assert.equal(none.code, 6, none.stderr);
  const locked = await vault("sh-locked", { unlock: false });
  const shares = shareLinesOf(
    (await locked.run(["shamir", "split", "--shares", "2", "--threshold", "2"], { input: "s" })).stdout,
  );
  for (const args of [
    ["shamir", "split", "--shares", "3", "--threshold", "2", "--secret", "k"],
    ["shamir", "combine", "--from-secret", "k"],
    ["shamir", "combine", "--to-secret", "k"],
  ]) {
    const r = await locked.run(args, { input: shares.join("\n") });
    assert.equal(r.code, 6, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /locked/);
    assert.equal(r.stdout.length, 0);
  }
});

test("on a terminal: split warns that shares are secrets; combine asks for each share hidden, until K", async () => {
  const sb = sandbox("sh-tty");
  const secret = "typed-secret-on-a-terminal";
  const split = await onTerminal(
    sb,
    ["shamir", "split", "--shares", "3", "--threshold", "2"],
    [[/Secret to split \(hidden\): $/, secret]],
  );
  assert.equal(split.code, 0, split.screen);
  assert.match(split.screen, /warning: the 3 lines below are secrets/);
  assert.ok(!split.screen.includes(secret), "the secret is not echoed");
  const shares = split.screen.match(/enclave-share-v1:[^\s]+/g)!;
  assert.equal(shares.length, 3);
  const combine = await onTerminal(
    sb,
    ["shamir", "combine"],
    [
      [/Share 1: $/, "not a share"],
      [/Share 1: $/, shares[2]!],
      [/Share 2 of 2: $/, shares[0]!],
    ],
  );
  assert.equal(combine.code, 0, combine.screen);
  assert.match(combine.screen, /share 1: not a share.*Type it again/);
  for (const s of shares) assert.ok(!combine.screen.includes(s), "shares are not echoed");
  assert.ok(combine.screen.includes(secret), "the secret is printed");
});
