/**
 * The test vectors of docs/format.md. The document holds each vector's inputs and expected
 * outputs as a JSON block; the tests rebuild every output from the inputs and compare. Run
 * `node dist/test/helpers/vectors.js` to print the blocks for the document after a format change.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VaultContents } from "../../src/vault/contents.js";
import { sealContainer } from "../../src/vault/format.js";
import { deriveMasterKey, parseKdfSpec } from "../../src/vault/kdf.js";
import { encodePayload } from "../../src/vault/payload.js";
import { REPO } from "./cli.js";

export interface VectorSecret {
  name: string;
  valueHex: string;
  createdAt: number;
  updatedAt: number;
}

export interface FormatVector {
  name: string;
  passphrase: string;
  kdf: string;
  saltHex: string;
  nonceHex: string;
  meta: { vaultId: string; createdAt: string };
  fingerprintKeyHex: string;
  secrets: VectorSecret[];
  /** Outputs. */
  masterKeyHex: string;
  payloadHex: string;
  fileHex: string;
}

export type VectorInputs = Omit<FormatVector, "masterKeyHex" | "payloadHex" | "fileHex">;

export function contentsOf(v: VectorInputs): VaultContents {
  const c = new VaultContents({ ...v.meta }, Buffer.from(v.fingerprintKeyHex, "hex"));
  for (const s of v.secrets)
    c.secrets.set(s.name, {
      value: Buffer.from(s.valueHex, "hex"),
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    });
  return c;
}

export async function buildVector(v: VectorInputs): Promise<FormatVector> {
  const kdf = parseKdfSpec(v.kdf);
  const salt = Buffer.from(v.saltHex, "hex");
  const masterKey = await deriveMasterKey(Buffer.from(v.passphrase, "utf8"), salt, kdf);
  const payload = encodePayload(contentsOf(v));
  const file = sealContainer({
    kdf,
    salt,
    masterKey,
    plaintext: payload,
    nonce: Buffer.from(v.nonceHex, "hex"),
  });
  return {
    ...v,
    masterKeyHex: masterKey.toString("hex"),
    payloadHex: payload.toString("hex"),
    fileHex: file.toString("hex"),
  };
}

/** Every ```json block in docs/format.md whose object has a "fileHex" field. */
export function vectorsFromDoc(): FormatVector[] {
  const doc = readFileSync(join(REPO, "docs/format.md"), "utf8");
  return [...doc.matchAll(/```json\n([\s\S]*?)```/g)]
    .map((m) => JSON.parse(m[1]!) as FormatVector)
    .filter((v) => typeof v.fileHex === "string");
}

const SEED_INPUTS: VectorInputs[] = [
  {
    name: "argon2id-two-secrets",
    passphrase: "correct horse battery staple",
    kdf: "argon2id:m=19456,t=2,p=1",
    saltHex: Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString("hex"),
    nonceHex: "a0a1a2a3a4a5a6a7a8a9aaab",
    meta: { vaultId: "00000000-0000-4000-8000-000000000001", createdAt: "2026-01-01T00:00:00.000Z" },
    fingerprintKeyHex: Buffer.from(Array.from({ length: 32 }, (_, i) => 0x40 + i)).toString("hex"),
    secrets: [
      {
        name: "api/token",
        valueHex: Buffer.from("s3cr3t").toString("hex"),
        createdAt: 1767225600000,
        updatedAt: 1767225600000,
      },
      { name: "ssh/id", valueHex: "00ff100a", createdAt: 1767225600000, updatedAt: 1767312000000 },
    ],
  },
  {
    name: "scrypt-empty",
    passphrase: "pässwörd with ünïcode",
    kdf: "scrypt:ln=17,r=8,p=1",
    saltHex: "ff".repeat(32),
    nonceHex: "000000000000000000000001",
    meta: { vaultId: "00000000-0000-4000-8000-000000000002", createdAt: "2026-01-01T00:00:00.000Z" },
    fingerprintKeyHex: "11".repeat(32),
    secrets: [],
  },
];

if (process.argv[1]?.endsWith("vectors.js")) {
  for (const v of SEED_INPUTS)
    console.log(`\`\`\`json\n${JSON.stringify(await buildVector(v), null, 2)}\n\`\`\`\n`);
}
