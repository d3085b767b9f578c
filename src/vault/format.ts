/**
 * The vault file container, version 1 — specified byte by byte in docs/format.md.
 *
 *   0   8  magic "ENCLAVE\0"
 *   8   2  format version (u16 BE) = 1
 *  10   1  KDF id (1 argon2id, 2 scrypt)
 *  11   1  flags (reserved, 0)
 *  12  12  KDF parameters: three u32 BE
 *  24  32  salt
 *  56  12  AES-GCM nonce
 *  68   4  ciphertext length L (u32 BE)
 *  72  16  passphrase check = HMAC-SHA256(checkKey, bytes 0..71), first 16 bytes
 *  88   L  ciphertext (AES-256-GCM, AAD = bytes 0..87)
 *  88+L 16 GCM tag
 * 104+L 32 SHA-256 of bytes 0..103+L (integrity of the file as stored)
 *
 * Why a plain checksum as well as the AEAD tag: it lets us tell "the file is damaged" (exit 4)
 * from "the passphrase is wrong" (exit 3) before running the KDF. A deliberate forgery with a
 * recomputed checksum is still caught: in the header (salt, nonce, parameters, check) it makes
 * the passphrase check fail, which is indistinguishable from a wrong passphrase (exit 3); in the
 * ciphertext or tag the check passes and the AEAD fails (exit 4).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { AuthError, VaultCorruptError } from "../errors.js";
import { constantTimeEqual } from "../secure/buffers.js";
import { checkKdfBounds, KDF_IDS, type KdfParams } from "./kdf.js";
import { deriveSubkeys, wipeSubkeys } from "./keys.js";

export const MAGIC = Buffer.from("ENCLAVE\0", "latin1");
export const FORMAT_VERSION = 1;
export const SALT_LENGTH = 32;
export const NONCE_LENGTH = 12;
export const CHECK_LENGTH = 16;
export const TAG_LENGTH = 16;
export const CHECKSUM_LENGTH = 32;
/** Offset of the passphrase check; the bytes before it are what the check authenticates. */
const CHECK_OFFSET = 72;
export const HEADER_LENGTH = CHECK_OFFSET + CHECK_LENGTH; // 88
export const CONTAINER_OVERHEAD = HEADER_LENGTH + TAG_LENGTH + CHECKSUM_LENGTH; // 136

export interface VaultHeader {
  version: number;
  kdf: KdfParams;
  salt: Buffer;
  nonce: Buffer;
  ciphertextLength: number;
  check: Buffer;
}

export interface ParsedContainer {
  header: VaultHeader;
  /** Bytes 0..87: the AEAD's associated data. */
  headerBytes: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function encodeKdf(k: KdfParams): [number, number, number, number] {
  return k.id === "argon2id"
    ? [KDF_IDS.argon2id, k.memoryKiB, k.iterations, k.parallelism]
    : [KDF_IDS.scrypt, k.log2N, k.r, k.p];
}

function decodeKdf(id: number, a: number, b: number, c: number): KdfParams | undefined {
  if (id === KDF_IDS.argon2id) return { id: "argon2id", memoryKiB: a, iterations: b, parallelism: c };
  if (id === KDF_IDS.scrypt) return { id: "scrypt", log2N: a, r: b, p: c };
  return undefined;
}

/**
 * Structural checks, in the order that gives the most useful message: foreign file, truncation,
 * damage, unsupported version, impossible parameters. Runs no KDF; touches no key.
 */
export function parseContainer(file: Buffer, path?: string): ParsedContainer {
  const corrupt = (detail: string) => new VaultCorruptError(detail, path);
  if (file.length === 0) throw corrupt("the file is empty");
  const magicPart = file.subarray(0, Math.min(file.length, MAGIC.length));
  if (!magicPart.equals(MAGIC.subarray(0, magicPart.length)))
    throw corrupt("not an enclave vault: the file does not start with the enclave magic bytes");
  if (file.length < CONTAINER_OVERHEAD)
    throw corrupt(`truncated: ${file.length} bytes, a vault is at least ${CONTAINER_OVERHEAD}`);
  const ciphertextLength = file.readUInt32BE(68);
  const expected = CONTAINER_OVERHEAD + ciphertextLength;
  const body = file.subarray(0, file.length - CHECKSUM_LENGTH);
  const checksum = createHash("sha256").update(body).digest();
  if (!checksum.equals(file.subarray(file.length - CHECKSUM_LENGTH))) {
    if (expected > file.length) throw corrupt(`truncated: ${file.length} of ${expected} bytes`);
    if (expected < file.length) throw corrupt(`${file.length - expected} unexpected bytes at the end`);
    throw corrupt("checksum mismatch: the file was damaged");
  }
  if (expected !== file.length) throw corrupt(`length field says ${expected} bytes, file has ${file.length}`);
  const version = file.readUInt16BE(8);
  if (version !== FORMAT_VERSION)
    throw corrupt(
      `unsupported format version ${version}; this enclave reads version ${FORMAT_VERSION} (upgrade enclave?)`,
    );
  if (file[11] !== 0) throw corrupt(`unknown flags 0x${file[11]!.toString(16)}`);
  const kdf = decodeKdf(file[10]!, file.readUInt32BE(12), file.readUInt32BE(16), file.readUInt32BE(20));
  if (!kdf) throw corrupt(`unknown KDF id ${file[10]}`);
  const bad = checkKdfBounds(kdf, "read");
  if (bad) throw corrupt(bad);
  return {
    header: {
      version,
      kdf,
      salt: file.subarray(24, 24 + SALT_LENGTH),
      nonce: file.subarray(56, 56 + NONCE_LENGTH),
      ciphertextLength,
      check: file.subarray(CHECK_OFFSET, HEADER_LENGTH),
    },
    headerBytes: file.subarray(0, HEADER_LENGTH),
    ciphertext: file.subarray(HEADER_LENGTH, HEADER_LENGTH + ciphertextLength),
    tag: file.subarray(HEADER_LENGTH + ciphertextLength, HEADER_LENGTH + ciphertextLength + TAG_LENGTH),
  };
}

function passphraseCheck(checkKey: Buffer, headerPrefix: Buffer): Buffer {
  return createHmac("sha256", checkKey).update(headerPrefix).digest().subarray(0, CHECK_LENGTH);
}

export interface SealInput {
  kdf: KdfParams;
  salt: Buffer;
  /** The KDF output. Not wiped here: the caller owns it. */
  masterKey: Buffer;
  plaintext: Buffer;
  /** Only for test vectors; a fresh random nonce otherwise. Never reuse one with the same key. */
  nonce?: Buffer;
}

/** Encrypt a payload into a complete vault file. */
export function sealContainer(input: SealInput): Buffer {
  if (input.salt.length !== SALT_LENGTH) throw new Error("salt must be 32 bytes");
  const nonce = input.nonce ?? randomBytes(NONCE_LENGTH);
  const keys = deriveSubkeys(input.masterKey);
  try {
    const out = Buffer.alloc(CONTAINER_OVERHEAD + input.plaintext.length);
    MAGIC.copy(out, 0);
    out.writeUInt16BE(FORMAT_VERSION, 8);
    const [id, a, b, c] = encodeKdf(input.kdf);
    out[10] = id;
    out[11] = 0;
    out.writeUInt32BE(a, 12);
    out.writeUInt32BE(b, 16);
    out.writeUInt32BE(c, 20);
    input.salt.copy(out, 24);
    nonce.copy(out, 56);
    out.writeUInt32BE(input.plaintext.length, 68);
    passphraseCheck(keys.check, out.subarray(0, CHECK_OFFSET)).copy(out, CHECK_OFFSET);
    const cipher = createCipheriv("aes-256-gcm", keys.encryption, nonce, { authTagLength: TAG_LENGTH });
    cipher.setAAD(out.subarray(0, HEADER_LENGTH));
    // update() may return fewer bytes than it was given only for block modes; GCM is a stream.
    const ct = cipher.update(input.plaintext);
    const fin = cipher.final();
    ct.copy(out, HEADER_LENGTH);
    fin.copy(out, HEADER_LENGTH + ct.length);
    cipher.getAuthTag().copy(out, HEADER_LENGTH + input.plaintext.length);
    const tail = out.length - CHECKSUM_LENGTH;
    createHash("sha256").update(out.subarray(0, tail)).digest().copy(out, tail);
    return out;
  } finally {
    wipeSubkeys(keys);
  }
}

/**
 * Decrypt a parsed container with the master key. Wrong key: AuthError (exit 3). Right key but
 * the ciphertext does not authenticate: VaultCorruptError (exit 4). The plaintext is the
 * caller's to wipe.
 */
export function openContainer(parsed: ParsedContainer, masterKey: Buffer, path?: string): Buffer {
  const keys = deriveSubkeys(masterKey);
  try {
    const expected = passphraseCheck(keys.check, parsed.headerBytes.subarray(0, CHECK_OFFSET));
    if (!constantTimeEqual(expected, parsed.header.check))
      throw new AuthError(`wrong passphrase for ${path ?? "the vault"}; nothing was changed`);
    const decipher = createDecipheriv("aes-256-gcm", keys.encryption, parsed.header.nonce, {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(parsed.headerBytes);
    decipher.setAuthTag(parsed.tag);
    const pt = decipher.update(parsed.ciphertext);
    try {
      decipher.final();
    } catch {
      pt.fill(0);
      throw new VaultCorruptError(
        "the passphrase is right but the contents fail authentication: the file was altered",
        path,
      );
    }
    return pt;
  } finally {
    wipeSubkeys(keys);
  }
}
