/**
 * Shamir: codecs, Vault-layout known answers, split/combine properties, integrity and corruption.
 *
 * The reference arithmetic below is test-only and deliberately independent of the library: it is
 * current Vault's bit-serial GF(2^8) multiplication (hashicorp/vault shamir/shamir.go, reduction
 * by 0x1B, i.e. x^8 + x^4 + x^3 + x + 1), used to build vectors by hand and to check split output.
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { test } from "node:test";
import { UsageError } from "../../src/errors.js";
import {
  base64Decode,
  base64Encode,
  decodeLine,
  hexDecode,
  hexEncode,
  shareLines,
} from "../../src/shamir/encoding.js";
import { computeTag, verifyTag } from "../../src/shamir/integrity.js";
import {
  type CombineResult,
  combinations,
  combineShareLines,
  type SplitResult,
  splitSecret,
} from "../../src/shamir/scheme.js";
import { combineVaultLayout, ShareError, splitVaultLayout } from "../../src/shamir/shares.js";

// ---- reference GF(2^8) (Vault's bit-serial algorithm) ----

function gfMul(a: number, b: number): number {
  let r = 0;
  for (let i = 7; i >= 0; i--) r = (-((b >> i) & 1) & a) ^ (-(r >> 7) & 0x1b) ^ ((r + r) & 0xff);
  return r & 0xff;
}
function gfInv(a: number): number {
  let r = 1;
  for (let i = 0; i < 254; i++) r = gfMul(r, a); // a^254 = a^-1 in GF(256)
  return r;
}
/** Lagrange interpolation of (xs, ys) evaluated at x. */
function gfInterpolate(xs: number[], ys: number[], x: number): number {
  let out = 0;
  for (let i = 0; i < xs.length; i++) {
    let basis = 1;
    for (let j = 0; j < xs.length; j++)
      if (i !== j) basis = gfMul(basis, gfMul(x ^ xs[j]!, gfInv(xs[i]! ^ xs[j]!)));
    out ^= gfMul(ys[i]!, basis);
  }
  return out;
}
/** Value at x of the polynomial through the first K shares, byte by byte (reference). */
function refEvaluate(shares: Buffer[], x: number): Buffer {
  const L = shares[0]!.length - 1;
  const xs = shares.map((s) => s[L]!);
  return Buffer.from(
    Array.from({ length: L }, (_, i) =>
      gfInterpolate(
        xs,
        shares.map((s) => s[i]!),
        x,
      ),
    ),
  );
}
/** The secret behind Vault-layout shares (the value at 0), by the reference arithmetic, not the library. */
const refCombine = (shares: Buffer[]): Buffer => refEvaluate(shares, 0);

const line = (text: string, label = "test") => ({ label, line: Buffer.from(text) });
const lines = (r: SplitResult) => r.shares.map((s) => s.line.toString());
const combineText = (texts: string[], o = {}) =>
  combineShareLines(
    texts.map((t, i) => line(t, `share #${i + 1}`)),
    o,
  );
const pick = <T>(xs: T[], idx: number[]) => idx.map((i) => xs[i]!);
/** k distinct random indices out of n. */
function randomSubset(n: number, k: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, k);
}
/** The Vault-layout share inside an enclave share line (its 4th field). */
const innerShare = (enclaveLine: string) => Buffer.from(enclaveLine.split(":")[3]!, "base64");
/** Replace one field (0-based, after splitting on ":") of an enclave share line. */
function withField(enclaveLine: string, field: number, value: string): string {
  const f = enclaveLine.split(":");
  f[field] = value;
  return f.join(":");
}

async function rejects(p: Promise<unknown>, cls: new (...a: never[]) => Error, message: RegExp) {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
}

// ---- the field, pinned to Vault's and FIPS 197's values ----

test("reference field: Vault's own test values and the FIPS 197 constant", () => {
  assert.equal(gfMul(3, 7), 9); // vault shamir_test.go TestField_Mult
  assert.equal(gfMul(3, 0), 0);
  assert.equal(gfMul(gfInv(3), 6), 2); // TestField_Divide: div(6, 3) = 2
  assert.equal(gfMul(0x57, 0x83), 0xc1); // FIPS 197 §4.2
  for (let a = 1; a < 256; a++) assert.equal(gfMul(a, gfInv(a)), 1);
});

// ---- known answers in the Vault layout ----

/**
 * Hand-built vector: secret "secret" (73 65 63 72 65 74), threshold 3, byte i's polynomial
 * p_i(x) = s_i + a_i·x + b_i·x² over GF(2^8)/0x11B with
 *   a = 1d 9a 00 ff 42 07,  b = c3 01 5e 80 ff 33,
 * evaluated at x = 01, 02, 03, 80, ff. Each share is {p_0(x) … p_5(x), x}.
 */
const KAT = {
  secret: Buffer.from("secret"),
  a: [0x1d, 0x9a, 0x00, 0xff, 0x42, 0x07],
  b: [0xc3, 0x01, 0x5e, 0x80, 0xff, 0x33],
  shares: [
    { x: 0x01, hex: "adfe3d0dd84001", b64: "rf49DdhAAQ==" },
    { x: 0x02, hex: "684e00a130b602", b64: "aE4AoTC2Ag==" },
    { x: 0x03, hex: "b6d55ede8d8203", b64: "ttVe3o2CAw==" },
    { x: 0x80, hex: "66ca5a2263c980", b64: "ZspaImPJgA==" },
    { x: 0xff, hex: "572616224cf7ff", b64: "VyYWIkz3/w==" },
  ],
};

test("known answer: the hand-evaluated polynomial gives the documented Vault-layout shares", () => {
  for (const s of KAT.shares) {
    const y = [...KAT.secret].map((c, i) => c ^ gfMul(KAT.a[i]!, s.x) ^ gfMul(KAT.b[i]!, gfMul(s.x, s.x)));
    const share = Buffer.from([...y, s.x]);
    assert.equal(share.toString("hex"), s.hex);
    assert.equal(share.toString("base64"), s.b64);
    assert.equal(share.at(-1), s.x, "x is the last byte");
  }
});

test("known answer: every 3 of the 5 shares combine to the secret, as hex and as base64", async () => {
  for (const idx of combinations(5, 3)) {
    const chosen = pick(KAT.shares, idx);
    for (const form of ["hex", "b64"] as const) {
      const r = await combineText(chosen.map((s) => s[form]));
      assert.deepEqual(r.secret, KAT.secret, `${form} ${idx}`);
      assert.equal(r.verified, false);
      assert.deepEqual(r.forms, [form === "hex" ? "hex" : "base64"]);
    }
    // The library directly, on the raw bytes.
    const raw = await combineVaultLayout(chosen.map((s) => Buffer.from(s.hex, "hex")));
    assert.deepEqual(raw, KAT.secret);
  }
  // All five: an over-determined but consistent system still gives the secret.
  assert.deepEqual((await combineText(KAT.shares.map((s) => s.b64))).secret, KAT.secret);
  // Two shares of a threshold-3 split are just a different line: wrong bytes, no error (raw limit).
  const two = await combineText(KAT.shares.slice(0, 2).map((s) => s.hex));
  assert.notDeepEqual(two.secret, KAT.secret);
});

test("split side: shares are {y…, x} with distinct x in 1..255, on one degree K-1 polynomial (reference math)", async () => {
  for (let round = 0; round < 20; round++) {
    const secret = randomBytes(randomInt(1, 65));
    const n = randomInt(2, 12);
    const k = randomInt(2, n + 1);
    const shares = await splitVaultLayout(secret, n, k);
    assert.equal(shares.length, n);
    const xs = shares.map((s) => s.at(-1)!);
    for (const s of shares) assert.equal(s.length, secret.length + 1);
    assert.ok(
      xs.every((x) => x >= 1 && x <= 255),
      "x never 0",
    );
    assert.equal(new Set(xs).size, n, "distinct x");
    assert.deepEqual(refCombine(shares.slice(0, k)), secret, "reference interpolation recovers the secret");
    for (const s of shares.slice(k))
      assert.deepEqual(refEvaluate(shares.slice(0, k), s.at(-1)!), s.subarray(0, -1), "same polynomial");
  }
});

test("enclave form: the 4th field is itself a valid Vault share of the secret", async () => {
  const secret = randomBytes(32); // the size of a Vault root key: 33-byte shares, 44 base64 chars
  const r = await splitSecret(secret, { shares: 5, threshold: 3, form: "enclave" });
  const inner = lines(r).map(innerShare);
  for (const s of inner) assert.equal(s.length, 33);
  assert.equal(lines(r)[0]!.split(":")[3]!.length, 44);
  assert.deepEqual(refCombine(inner.slice(1, 4)), secret);
  const raw = await combineText(lines(r).map((l) => l.split(":")[3]!));
  assert.deepEqual(raw.secret, secret);
});

// ---- codecs ----

test("byte-level hex and base64 codecs agree with Node's, and refuse non-canonical text", () => {
  for (let n = 0; n < 70; n++) {
    const b = randomBytes(n);
    assert.equal(hexEncode(b).toString(), b.toString("hex"));
    assert.equal(base64Encode(b).toString(), b.toString("base64"));
    if (n === 0) continue;
    assert.deepEqual(hexDecode(Buffer.from(b.toString("hex"))), b);
    assert.deepEqual(hexDecode(Buffer.from(b.toString("hex").toUpperCase())), b);
    assert.deepEqual(base64Decode(Buffer.from(b.toString("base64"))), b);
  }
  for (const bad of ["abc", "zz", "0g", "", "ab cd"])
    assert.equal(hexDecode(Buffer.from(bad)), undefined, bad);
  for (const bad of [
    "",
    "abc", // length not a multiple of 4
    "ab==cd==", // padding inside
    "ab-_", // URL-safe alphabet
    "a===",
    "rf49DdhAAR==", // non-zero unused bits: not the canonical spelling
    "rf49DdhAAQ=", // truncated padding
    "rf49DdhAAQ", // no padding
  ])
    assert.equal(base64Decode(Buffer.from(bad)), undefined, bad);
});

test("shareLines: trims, skips blanks and # comments, keeps line numbers", () => {
  const got = shareLines(Buffer.from("# shares\r\n  abcd  \n\n\tef01\r\n#x\n"));
  assert.deepEqual(
    got.map((l) => [l.lineNo, l.line.toString()]),
    [
      [2, "abcd"],
      [4, "ef01"],
    ],
  );
});

test("auto-detection: enclave prefix, hex, base64, and short lines valid both ways", () => {
  assert.equal(decodeLine(Buffer.from(KAT.shares[0]!.b64), "auto", "l").kind, "raw");
  const hex = decodeLine(Buffer.from("adfe3d0dd84001"), "auto", "l");
  assert.ok(hex.kind === "raw" && hex.candidates.length === 1 && hex.candidates[0]!.form === "hex");
  const both = decodeLine(Buffer.from("abcdef01"), "auto", "l");
  assert.ok(both.kind === "raw" && both.candidates.length === 2);
  assert.throws(() => decodeLine(Buffer.from("enclave-share-v2:3:aa"), "auto", "l"), /version/);
  assert.throws(() => decodeLine(Buffer.from("not a share!"), "auto", "l"), ShareError);
  assert.throws(() => decodeLine(Buffer.from("abcdef01"), "enclave", "l"), /not an enclave share/);
});

test("lines valid both as hex and base64 are read by the length the other shares have", async () => {
  // "abcd" is 2 bytes as hex and 3 bytes (69 b7 1d) as base64; "ECAw" is base64 only (10 20 30).
  const r = await combineText(["abcd", "ECAw"]);
  assert.deepEqual(r.forms, ["base64"]);
  assert.equal(r.readAsHexAmbiguous, false);
  assert.deepEqual(
    r.secret,
    await combineVaultLayout([Buffer.from([0x69, 0xb7, 0x1d]), Buffer.from([0x10, 0x20, 0x30])]),
  );
  // When every line is short and valid both ways, hex wins, with a flag for the note.
  const both = await combineText(["0a1b", "0c1d"]);
  assert.equal(both.readAsHexAmbiguous, true);
  assert.deepEqual(both.forms, ["hex"]);
  const asB64 = await combineText(["0a1b", "0c1d"], { form: "base64" });
  assert.deepEqual(asB64.forms, ["base64"]);
  assert.equal(asB64.readAsHexAmbiguous, false);
  // Our own hex output of an even-length share is valid base64 too, and still reads as hex.
  const secret = randomBytes(31);
  const hex = lines(await splitSecret(secret, { shares: 3, threshold: 2, form: "hex" }));
  assert.equal(hex[0]!.length % 4, 0);
  const back = await combineText(hex.slice(1));
  assert.deepEqual(back.secret, secret);
  assert.equal(back.readAsHexAmbiguous, false);
});

// ---- properties ----

test("property: random secrets (1..64 bytes), small N: every K-subset recombines, in all three forms", async () => {
  for (let round = 0; round < 12; round++) {
    const secret = randomBytes(randomInt(1, 65));
    const n = randomInt(2, 7);
    const k = randomInt(2, n + 1);
    for (const form of ["enclave", "base64", "hex"] as const) {
      const r = await splitSecret(secret, { shares: n, threshold: k, form });
      assert.equal(r.shares.length, n);
      const texts = lines(r);
      for (const idx of combinations(n, k)) {
        const got = await combineText(pick(texts, idx), form === "enclave" ? {} : { form });
        assert.deepEqual(got.secret, secret, `${form} n=${n} k=${k} ${idx}`);
        assert.equal(got.verified, form === "enclave");
        if (form === "enclave") assert.equal(got.threshold, k);
      }
    }
  }
});

test("property: larger N (up to 255): random K-subsets recombine, and K-1 shares fail the integrity check", async () => {
  const cases = [
    [255, 2],
    [255, 17],
    [40, 40],
    [100, 60],
    [255, 255],
  ];
  for (let i = 0; i < 6; i++) {
    const n = randomInt(8, 256);
    cases.push([n, randomInt(2, Math.min(n, 30) + 1)]);
  }
  for (const [n, k] of cases as [number, number][]) {
    const secret = randomBytes(randomInt(1, 65));
    const r = await splitSecret(secret, { shares: n, threshold: k, form: "enclave" });
    const texts = lines(r);
    assert.equal(new Set(r.shares.map((s) => s.x)).size, n);
    for (let t = 0; t < 3; t++) {
      const got = await combineText(pick(texts, randomSubset(n, k)));
      assert.deepEqual(got.secret, secret, `n=${n} k=${k}`);
    }
    await assertKMinusOneFails(texts, k, secret);
  }
});

/**
 * K-1 shares do not give the secret: the CLI path refuses them (it knows K), and the raw
 * interpolation of K-1 shares of `secret || checkKey` yields bytes whose tag does not verify.
 */
async function assertKMinusOneFails(texts: string[], k: number, secret: Buffer) {
  const subset = pick(texts, randomSubset(texts.length, k - 1));
  await rejects(combineText(subset), ShareError, new RegExp(`${k} are needed, ${k - 1} given`));
  if (k - 1 < 2) return; // one point: nothing to interpolate
  const fields = subset.map((l) => l.split(":"));
  const L = Buffer.from(fields[0]![3]!, "base64").length - 1;
  const payloads = fields.map((f) => {
    const share = Buffer.from(f[3]!, "base64");
    return Buffer.concat([share.subarray(0, L), Buffer.from(f[4]!, "hex"), share.subarray(L)]);
  });
  const payload = await combineVaultLayout(payloads);
  const wrongSecret = payload.subarray(0, L);
  assert.notDeepEqual(wrongSecret, secret);
  const tag = Buffer.from(fields[0]![5]!, "hex");
  assert.equal(
    verifyTag(tag, payload.subarray(L), Buffer.from(fields[0]![2]!, "hex"), k, wrongSecret),
    false,
  );
  // Claiming a threshold of K-1 in every header does not help: K is inside the tag.
  const relabelled = subset.map((l) => withField(l, 1, String(k - 1)));
  await rejects(combineText(relabelled), ShareError, /integrity check failed/);
}

test("K-1 of K shares: refused, and their interpolation fails the tag (small thresholds too)", async () => {
  for (const [n, k] of [
    [3, 2],
    [3, 3],
    [5, 3],
    [6, 4],
  ] as [number, number][]) {
    const secret = randomBytes(randomInt(1, 65));
    const r = await splitSecret(secret, { shares: n, threshold: k, form: "enclave" });
    await assertKMinusOneFails(lines(r), k, secret);
  }
});

// ---- the tag ----

test("the tag: random per split, bound to split id and threshold, useless without the check key", async () => {
  const secret = Buffer.from("same secret");
  const a = await splitSecret(secret, { shares: 3, threshold: 2, form: "enclave" });
  const b = await splitSecret(secret, { shares: 3, threshold: 2, form: "enclave" });
  const fa = lines(a)[0]!.split(":");
  const fb = lines(b)[0]!.split(":");
  assert.notEqual(fa[2], fb[2], "split ids differ");
  assert.notEqual(
    fa[5],
    fb[5],
    "the same secret gets unrelated tags: a tag is not a fingerprint of the secret",
  );
  const key = randomBytes(16);
  const id = randomBytes(8);
  const tag = computeTag(key, id, 3, secret);
  assert.equal(tag.length, 16);
  assert.ok(verifyTag(tag, key, id, 3, secret));
  assert.ok(!verifyTag(tag, randomBytes(16), id, 3, secret));
  assert.ok(!verifyTag(tag, key, randomBytes(8), 3, secret));
  assert.ok(!verifyTag(tag, key, id, 2, secret));
  assert.ok(!verifyTag(tag, key, id, 3, Buffer.from("other secret")));
  // Nothing of the secret appears in a share line.
  for (const l of lines(a)) assert.ok(!l.includes("same secret") && !l.includes(secret.toString("hex")));
});

// ---- corruption and mistakes ----

test("a flipped byte anywhere in an enclave share is detected, never returned as the secret", async () => {
  const secret = randomBytes(24);
  const r = await splitSecret(secret, { shares: 4, threshold: 3, form: "enclave" });
  const texts = lines(r);
  const good = texts.slice(0, 3);
  // Byte flips in the share bytes (every offset, including x) and in the check field.
  const inner = innerShare(good[1]!);
  for (let off = 0; off < inner.length; off++) {
    const bad = Buffer.from(inner);
    bad[off]! ^= 0x01;
    const t = [good[0]!, withField(good[1]!, 3, bad.toString("base64")), good[2]!];
    await assert.rejects(combineText(t), ShareError, `flip at share byte ${off}`);
  }
  const check = good[1]!.split(":")[4]!;
  const flipped = (check[0] === "0" ? "1" : "0") + check.slice(1);
  await rejects(
    combineText([good[0]!, withField(good[1]!, 4, flipped), good[2]!]),
    ShareError,
    /integrity check failed/,
  );
  // A changed tag or threshold in one header: the shares disagree about their split.
  const tag = good[2]!.split(":")[5]!;
  await rejects(
    combineText([good[0]!, good[1]!, withField(good[2]!, 5, (tag[0] === "0" ? "1" : "0") + tag.slice(1))]),
    ShareError,
    /different threshold or tag/,
  );
  // A truncated share field.
  const short = innerShare(good[1]!).subarray(1).toString("base64");
  await rejects(
    combineText([good[0]!, withField(good[1]!, 3, short), good[2]!]),
    ShareError,
    /length|base64/,
  );
});

test("a share of another split (even of the same secret), a duplicate, and too few are clear errors", async () => {
  const secret = Buffer.from("unseal me");
  const a = lines(await splitSecret(secret, { shares: 3, threshold: 2, form: "enclave" }));
  const b = lines(await splitSecret(secret, { shares: 3, threshold: 2, form: "enclave" }));
  await rejects(combineText([a[0]!, b[1]!]), ShareError, /share #2 is from another split/);
  // Same split id forged onto the other split's share: the tag catches it.
  const forged = withField(withField(b[1]!, 2, a[0]!.split(":")[2]!), 5, a[0]!.split(":")[5]!);
  await rejects(combineText([a[0]!, forged]), ShareError, /integrity check failed/);
  await rejects(combineText([a[0]!, a[0]!]), ShareError, /share #2 is the same share as share #1/);
  await rejects(combineText([a[0]!]), ShareError, /2 are needed, 1 given/);
  await rejects(combineText([]), UsageError, /no shares/);
  await rejects(combineText([a[0]!, a[1]!], { threshold: 3 }), UsageError, /contradicts/);
});

test("more than K enclave shares with one corrupted: the secret is still verified, the bad one named", async () => {
  const secret = randomBytes(16);
  const texts = lines(await splitSecret(secret, { shares: 5, threshold: 3, form: "enclave" }));
  const bad = innerShare(texts[2]!);
  bad[0]! ^= 0xff;
  const t = [...texts];
  t[2] = withField(texts[2]!, 3, bad.toString("base64"));
  const r: CombineResult = await combineText(t);
  assert.deepEqual(r.secret, secret);
  assert.equal(r.verified, true);
  assert.deepEqual(r.rejected, ["share #3"]);
  assert.equal(r.used, 4);
});

test("raw shares: lengths, duplicates, x = 0 and disagreeing extras are caught; a wrong share at exactly K is not", async () => {
  const secret = randomBytes(20);
  const r = await splitVaultLayout(secret, 4, 2);
  const b64 = r.map((s) => s.toString("base64"));
  await rejects(combineText([b64[0]!, b64[0]!]), ShareError, /same share/);
  const sameX = Buffer.from(r[1]!);
  sameX[sameX.length - 1] = r[0]!.at(-1)!;
  await rejects(combineText([b64[0]!, sameX.toString("base64")]), ShareError, /same x-coordinate/);
  const zeroX = Buffer.from(r[1]!);
  zeroX[zeroX.length - 1] = 0;
  await rejects(combineText([b64[0]!, zeroX.toString("base64")]), ShareError, /x-coordinate 0/);
  await rejects(combineText([b64[0]!, r[1]!.subarray(1).toString("base64")]), ShareError, /same length/);
  // Hex and base64 shares of one split mix fine (one holder kept unseal_keys_hex, another _b64).
  const mixed = await combineText([b64[0]!, r[1]!.toString("hex")]);
  assert.deepEqual(mixed.secret, secret);
  assert.deepEqual(mixed.forms.sort(), ["base64", "hex"]);
  const flipped = Buffer.from(r[1]!);
  flipped[3]! ^= 0x10;
  // Exactly K: no way to know (documented limit) — wrong bytes, flagged unverified.
  const silent = await combineText([b64[0]!, flipped.toString("base64")]);
  assert.notDeepEqual(silent.secret, secret);
  assert.equal(silent.verified, false);
  // More than K with --threshold: the extra shares expose the inconsistency.
  await rejects(
    combineText([b64[0]!, flipped.toString("base64"), b64[2]!], { threshold: 2 }),
    ShareError,
    /do not agree/,
  );
  const agree = await combineText([b64[0]!, b64[1]!, b64[3]!], { threshold: 2 });
  assert.deepEqual(agree.secret, secret);
  assert.equal(agree.extrasAgree, true);
  await rejects(combineText([b64[0]!], { threshold: 2 }), ShareError, /needed/);
  await rejects(
    combineText([b64[0]!, b64[1]!], { threshold: 3 }),
    ShareError,
    /3 shares are needed, 2 given/,
  );
  // Mixed with enclave shares: refused.
  const enc = lines(await splitSecret(secret, { shares: 2, threshold: 2, form: "enclave" }));
  await rejects(combineText([enc[0]!, b64[1]!]), ShareError, /one form/);
});

test("split refuses bad parameters and an empty secret with usage errors", async () => {
  const s = Buffer.from("x");
  for (const [n, k] of [
    [1, 1],
    [256, 2],
    [3, 4],
    [3, 1],
    [2.5, 2],
  ] as [number, number][])
    await rejects(
      splitSecret(s, { shares: n, threshold: k, form: "enclave" }),
      UsageError,
      /--shares|--threshold/,
    );
  await rejects(splitSecret(Buffer.alloc(0), { shares: 3, threshold: 2, form: "hex" }), UsageError, /empty/);
});

test("combinations() enumerates every k-subset once", () => {
  const all = [...combinations(6, 3)].map((c) => c.join(","));
  assert.equal(all.length, 20);
  assert.equal(new Set(all).size, 20);
  assert.deepEqual([...combinations(3, 3)], [[0, 1, 2]]);
});
