import assert from "node:assert/strict";
import { test } from "node:test";
import { openContainer, parseContainer } from "../../src/vault/format.js";
import { deriveMasterKey, parseKdfSpec } from "../../src/vault/kdf.js";
import { decodePayload } from "../../src/vault/payload.js";
import { buildVector, vectorsFromDoc } from "../helpers/vectors.js";

const vectors = vectorsFromDoc();

test("docs/format.md carries test vectors for both KDFs", () => {
  assert.ok(vectors.length >= 2);
  assert.deepEqual(new Set(vectors.map((v) => v.kdf.split(":")[0])), new Set(["argon2id", "scrypt"]));
});

for (const v of vectors) {
  test(`vector ${v.name}: inputs rebuild the documented bytes`, async () => {
    const built = await buildVector(v);
    assert.equal(built.masterKeyHex, v.masterKeyHex, "master key");
    assert.equal(built.payloadHex, v.payloadHex, "payload");
    assert.equal(built.fileHex, v.fileHex, "file");
  });

  test(`vector ${v.name}: the documented file decrypts to the documented contents`, async () => {
    const file = Buffer.from(v.fileHex, "hex");
    const parsed = parseContainer(file);
    assert.deepEqual(parsed.header.kdf, parseKdfSpec(v.kdf));
    const master = await deriveMasterKey(Buffer.from(v.passphrase), parsed.header.salt, parsed.header.kdf);
    const contents = decodePayload(openContainer(parsed, master));
    assert.equal(contents.meta.vaultId, v.meta.vaultId);
    assert.equal(contents.fingerprintKey.toString("hex"), v.fingerprintKeyHex);
    assert.deepEqual(
      contents.names().map((n) => [n, contents.get(n)!.value.toString("hex")]),
      v.secrets.map((s) => [s.name, s.valueHex]),
    );
  });
}
