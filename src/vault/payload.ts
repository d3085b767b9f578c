/**
 * The plaintext inside the vault container (docs/format.md, "Payload"):
 *
 *   u32 BE  meta length M, then M bytes of UTF-8 JSON (VaultMeta)
 *   u8      fingerprint key length K (32), then K bytes
 *   u32 BE  number of secrets N, then N records in strictly increasing byte order of name:
 *             u16 BE name length, name (UTF-8)
 *             u64 BE created (ms since epoch), u64 BE updated (ms since epoch)
 *             u32 BE value length, value bytes
 *
 * Nothing may follow the last record. Any deviation is a corrupt vault (exit 4): after the AEAD
 * succeeded, that means a bug or a forgery by someone who has the key, never a wrong passphrase.
 */
import { VaultCorruptError } from "../errors.js";
import { copyBuffer } from "../secure/buffers.js";
import {
  compareNames,
  FINGERPRINT_KEY_LENGTH,
  type SecretRecord,
  VaultContents,
  type VaultMeta,
} from "./contents.js";
import { nameProblem } from "./names.js";

export function encodePayload(c: VaultContents): Buffer {
  const meta = Buffer.from(JSON.stringify(c.meta), "utf8");
  const names = c.names();
  const encodedNames = names.map((n) => Buffer.from(n, "utf8"));
  let size = 4 + meta.length + 1 + c.fingerprintKey.length + 4;
  names.forEach((n, i) => {
    size += 2 + encodedNames[i]!.length + 16 + 4 + c.secrets.get(n)!.value.length;
  });
  const out = Buffer.alloc(size);
  let o = out.writeUInt32BE(meta.length, 0);
  o += meta.copy(out, o);
  o = out.writeUInt8(c.fingerprintKey.length, o);
  o += c.fingerprintKey.copy(out, o);
  o = out.writeUInt32BE(names.length, o);
  names.forEach((n, i) => {
    const s = c.secrets.get(n)!;
    const nb = encodedNames[i]!;
    o = out.writeUInt16BE(nb.length, o);
    o += nb.copy(out, o);
    o = out.writeBigUInt64BE(BigInt(s.createdAt), o);
    o = out.writeBigUInt64BE(BigInt(s.updatedAt), o);
    o = out.writeUInt32BE(s.value.length, o);
    o += s.value.copy(out, o);
  });
  return out;
}

/** Parse a payload; values are copied out, so the caller may wipe `buf` afterwards. */
export function decodePayload(buf: Buffer, path?: string): VaultContents {
  const r = new Reader(buf, path);
  const fail = (what: string): never => r.fail(what);
  const metaBytes = r.bytes(r.u32());
  let meta: VaultMeta;
  try {
    meta = JSON.parse(metaBytes.toString("utf8"));
  } catch {
    return fail("metadata is not JSON");
  }
  if (typeof meta !== "object" || meta === null || typeof meta.vaultId !== "string")
    fail("metadata lacks vaultId");
  const fkLen = r.u8();
  if (fkLen !== FINGERPRINT_KEY_LENGTH) fail(`fingerprint key of ${fkLen} bytes`);
  const contents = new VaultContents(meta, copyBuffer(r.bytes(fkLen)));
  try {
    const count = r.u32();
    let previous: string | undefined;
    for (let i = 0; i < count; i++) {
      const name = r.bytes(r.u16()).toString("utf8");
      if (nameProblem(name)) fail(`invalid secret name in record ${i}`);
      if (previous !== undefined && compareNames(previous, name) >= 0)
        fail("records out of order or duplicated");
      const createdAt = r.u64();
      const updatedAt = r.u64();
      const record: SecretRecord = { createdAt, updatedAt, value: copyBuffer(r.bytes(r.u32())) };
      contents.secrets.set(name, record);
      previous = name;
    }
    if (r.remaining() > 0) fail(`${r.remaining()} trailing bytes`);
  } catch (e) {
    contents.wipe();
    throw e;
  }
  return contents;
}

/** Bounds-checked big-endian reads; any overrun is a corrupt payload. */
class Reader {
  private o = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly path?: string,
  ) {}

  fail(what: string): never {
    throw new VaultCorruptError(`malformed payload: ${what} at offset ${this.o}`, this.path);
  }

  remaining(): number {
    return this.buf.length - this.o;
  }

  private take(n: number): number {
    if (n > this.remaining()) this.fail("unexpected end");
    const at = this.o;
    this.o += n;
    return at;
  }

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }
  u16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }
  u64(): number {
    const v = this.buf.readBigUInt64BE(this.take(8));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail("timestamp out of range");
    return Number(v);
  }
  bytes(n: number): Buffer {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }
}
