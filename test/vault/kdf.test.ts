import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../src/errors.js";
import { checkKdfBounds, DEFAULT_KDF, deriveMasterKey, parseKdfSpec } from "../../src/vault/kdf.js";

test("argon2id matches the reference implementation's known answer", async () => {
  // phc-winner-argon2 test.c: password "password", salt "somesalt", t=2, m=2^16, p=1, argon2id v1.3
  const k = await deriveMasterKey(Buffer.from("password"), Buffer.from("somesalt"), {
    id: "argon2id",
    memoryKiB: 65536,
    iterations: 2,
    parallelism: 1,
  });
  assert.equal(k.toString("hex"), "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7");
});

test("scrypt matches RFC 7914's known answer (first 32 bytes)", async () => {
  const k = await deriveMasterKey(Buffer.from("password"), Buffer.from("NaCl"), {
    id: "scrypt",
    log2N: 10,
    r: 8,
    p: 16,
  });
  assert.equal(k.toString("hex"), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");
});

test("--kdf specs parse, with defaults for unnamed fields", () => {
  assert.deepEqual(parseKdfSpec("argon2id"), DEFAULT_KDF);
  assert.deepEqual(parseKdfSpec("argon2id:m=65536,t=4"), {
    id: "argon2id",
    memoryKiB: 65536,
    iterations: 4,
    parallelism: 1,
  });
  assert.deepEqual(parseKdfSpec("scrypt:ln=18"), { id: "scrypt", log2N: 18, r: 8, p: 1 });
});

test("the default is at least 64 MiB and above the floor", () => {
  assert.equal(DEFAULT_KDF.id, "argon2id");
  if (DEFAULT_KDF.id === "argon2id") assert.ok(DEFAULT_KDF.memoryKiB >= 65536);
  assert.equal(checkKdfBounds(DEFAULT_KDF, "floor"), undefined);
});

test("--kdf refuses anything below the floor, unknown algorithms and junk", () => {
  for (const bad of [
    "argon2id:m=19455,t=2",
    "argon2id:m=65536,t=1",
    "scrypt:ln=16",
    "scrypt:r=4",
    "pbkdf2",
    "argon2id:m=lots",
    "argon2id:x=1",
    "scrypt:m=65536",
  ])
    assert.throws(() => parseKdfSpec(bad), UsageError, bad);
});

test("absurd parameters in a (forged) header are refused before any work", () => {
  assert.match(
    checkKdfBounds({ id: "argon2id", memoryKiB: 2 ** 31, iterations: 3, parallelism: 1 }, "read") ?? "",
    /out of range/,
  );
  assert.match(checkKdfBounds({ id: "scrypt", log2N: 40, r: 8, p: 1 }, "read") ?? "", /out of range/);
  // Below the floor is readable (an old vault), just not creatable.
  assert.equal(
    checkKdfBounds({ id: "argon2id", memoryKiB: 1024, iterations: 1, parallelism: 1 }, "read"),
    undefined,
  );
});
