import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { AuthError, VaultCorruptError } from "../../src/errors.js";
import { CONTAINER_OVERHEAD, openContainer, parseContainer, sealContainer } from "../../src/vault/format.js";
import type { KdfParams } from "../../src/vault/kdf.js";

const kdf: KdfParams = { id: "argon2id", memoryKiB: 19456, iterations: 2, parallelism: 1 };
const master = randomBytes(32);
const seal = (plaintext: Buffer) =>
  sealContainer({ kdf, salt: randomBytes(32), masterKey: master, plaintext });

/** Recompute the trailing checksum, as a forger who knows the format would. */
function refreshChecksum(file: Buffer): Buffer {
  const out = Buffer.from(file);
  createHash("sha256")
    .update(out.subarray(0, out.length - 32))
    .digest()
    .copy(out, out.length - 32);
  return out;
}

test("seal then open returns the plaintext; every write uses a new nonce", () => {
  const pt = Buffer.from("hello vault");
  const a = seal(pt);
  const b = seal(pt);
  assert.equal(a.length, CONTAINER_OVERHEAD + pt.length);
  assert.notDeepEqual(parseContainer(a).header.nonce, parseContainer(b).header.nonce);
  assert.deepEqual(openContainer(parseContainer(a), master), pt);
});

test("a wrong key is 'wrong passphrase' (AuthError), never 'corrupt'", () => {
  const file = seal(Buffer.from("x"));
  assert.throws(() => openContainer(parseContainer(file), randomBytes(32)), AuthError);
});

test("every single flipped bit, at every offset, is detected as corruption before any KDF", () => {
  const file = seal(Buffer.from("a small payload for the flip test"));
  for (let i = 0; i < file.length; i++)
    for (const bit of [0x01, 0x80]) {
      const bad = Buffer.from(file);
      bad[i]! ^= bit;
      assert.throws(() => parseContainer(bad), VaultCorruptError, `offset ${i} bit ${bit}`);
    }
});

test("every truncation and any appended byte is detected", () => {
  const file = seal(Buffer.from("payload"));
  for (let n = 0; n < file.length; n++)
    assert.throws(() => parseContainer(file.subarray(0, n)), VaultCorruptError, `length ${n}`);
  assert.throws(() => parseContainer(Buffer.concat([file, Buffer.from([0])])), /unexpected bytes/);
});

test("messages name the problem: foreign, truncated, version, forged contents", () => {
  const file = seal(Buffer.from("payload"));
  assert.throws(() => parseContainer(Buffer.from("#!/bin/sh\necho not a vault\n")), /not an enclave vault/);
  assert.throws(() => parseContainer(Buffer.alloc(0)), /empty/);
  assert.throws(() => parseContainer(file.subarray(0, file.length - 10)), /truncated/);
  const v2 = Buffer.from(file);
  v2.writeUInt16BE(2, 8);
  assert.throws(() => parseContainer(refreshChecksum(v2)), /unsupported format version 2/);
  const kdfId = Buffer.from(file);
  kdfId[10] = 9;
  assert.throws(() => parseContainer(refreshChecksum(kdfId)), /unknown KDF id 9/);
  // Ciphertext altered and the checksum recomputed: the passphrase check passes, the AEAD does not.
  const forged = Buffer.from(file);
  forged[90]! ^= 1;
  assert.throws(
    () => openContainer(parseContainer(refreshChecksum(forged)), master),
    (e: unknown) => {
      assert.ok(e instanceof VaultCorruptError);
      assert.match(e.message, /altered/);
      assert.equal(e.exitCode, 4);
      return true;
    },
  );
  // Header altered (salt) with a recomputed checksum: the passphrase check no longer matches.
  const salted = Buffer.from(file);
  salted[30]! ^= 1;
  assert.throws(() => openContainer(parseContainer(refreshChecksum(salted)), master), AuthError);
});
