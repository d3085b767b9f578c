import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { UsageError, VaultCorruptError } from "../../src/errors.js";
import { VaultContents } from "../../src/vault/contents.js";
import { nameProblem } from "../../src/vault/names.js";
import { decodePayload, encodePayload } from "../../src/vault/payload.js";

function sample(): VaultContents {
  const c = VaultContents.create(1_700_000_000_000);
  c.set("github/token", Buffer.from("ghp_example"), 1_700_000_000_001);
  c.set("ssh/id_ed25519", randomBytes(400), 1_700_000_000_002);
  c.set("bin", Buffer.from([0, 0xff, 0x0a, 0x0d, 0]), 1_700_000_000_003);
  c.meta.futureExtension = { kept: true };
  return c;
}

test("payload round trip keeps bytes, times, metadata (including unknown keys) and the fingerprint key", () => {
  const c = sample();
  const d = decodePayload(encodePayload(c));
  assert.deepEqual(d.names(), c.names());
  for (const n of c.names()) assert.deepEqual(d.get(n), c.get(n));
  assert.deepEqual(d.meta, c.meta);
  assert.deepEqual(d.fingerprintKey, c.fingerprintKey);
});

test("decoded values are copies: wiping the plaintext leaves them intact", () => {
  const buf = encodePayload(sample());
  const d = decodePayload(buf);
  buf.fill(0);
  assert.equal(d.get("github/token")!.value.toString(), "ghp_example");
});

test("every truncation of a payload and trailing junk are refused as corrupt", () => {
  const buf = encodePayload(sample());
  for (let n = 0; n < buf.length; n++)
    assert.throws(() => decodePayload(buf.subarray(0, n)), VaultCorruptError);
  assert.throws(() => decodePayload(Buffer.concat([buf, Buffer.from([1])])), /trailing/);
});

test("out-of-order records and invalid names are refused", () => {
  const c = VaultContents.create();
  c.set("b", Buffer.from("1"));
  c.set("a", Buffer.from("2"));
  const buf = encodePayload(c);
  // Swap the single-byte names "a" and "b" in place: same layout, wrong order.
  const swapped = Buffer.from(buf);
  const ia = buf.indexOf(Buffer.from([0, 1, 0x61]));
  const ib = buf.indexOf(Buffer.from([0, 1, 0x62]));
  swapped[ia + 2] = 0x62;
  swapped[ib + 2] = 0x61;
  assert.throws(() => decodePayload(swapped), /out of order/);
  const dotted = Buffer.from(buf);
  dotted[ia + 2] = 0x2e; // "."
  assert.throws(() => decodePayload(dotted), /invalid secret name/);
});

test("names: paths are safe and unambiguous", () => {
  for (const good of ["a", "github/token", "aws/prod/key.json", "x-1_2@3+4=5,6:7"])
    assert.equal(nameProblem(good), undefined, good);
  for (const bad of [
    "",
    "/a",
    "a/",
    "a//b",
    "../x",
    "a/../b",
    ".hidden",
    "a/.b",
    "sp ace",
    "a\\b",
    "x".repeat(256),
    "é",
  ])
    assert.ok(nameProblem(bad), bad);
});

test("a name cannot be both a secret and a folder", () => {
  const c = VaultContents.create();
  c.set("db/password", Buffer.from("x"));
  assert.throws(() => c.set("db", Buffer.from("y")), UsageError);
  assert.throws(() => c.set("db/password/old", Buffer.from("y")), UsageError);
  c.set("dbx", Buffer.from("ok"));
});

test("setting the same value again reports no change; rm wipes the old buffer", () => {
  const c = VaultContents.create();
  assert.equal(c.set("k", Buffer.from("v")), true);
  assert.equal(c.set("k", Buffer.from("v")), false);
  const held = c.get("k")!.value;
  assert.equal(c.remove("k"), true);
  assert.deepEqual(held, Buffer.alloc(1));
  assert.equal(c.remove("k"), false);
});
