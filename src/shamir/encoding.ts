/**
 * The three text forms of a share, one share per line, and how a line's form is recognised.
 *
 *   hex      lowercase hex of the Vault-layout share (Vault's `unseal_keys_hex`)
 *   base64   standard, padded base64 of the Vault-layout share (Vault's `unseal_keys_b64` and
 *            the "Unseal Key N:" lines of `vault operator init`)
 *   enclave  enclave-share-v1:<K>:<split id, 16 hex>:<base64 Vault-layout share>:<check, 32 hex>:<tag, 32 hex>
 *            where check is this share's y-bytes of the split check key (same x) and tag is the
 *            integrity tag (see integrity.ts). The 4th field alone is a valid Vault share.
 *
 * Shares are secrets (K of them are the secret), so the codecs here work on Buffers end to end —
 * Node's own base64/hex codecs need a JS string, which can never be wiped. Every function returns
 * fresh Buffers that the caller wipes. Error messages name the problem, never the content.
 */
import { CHECK_KEY_BYTES, SPLIT_ID_BYTES, TAG_BYTES } from "./integrity.js";
import { MAX_SHARES, MIN_SHARES, ShareError } from "./shares.js";

export const SHARE_FORMS = ["enclave", "base64", "hex"] as const;
export type ShareForm = (typeof SHARE_FORMS)[number];
export type RawForm = Exclude<ShareForm, "enclave">;

export const ENCLAVE_PREFIX = "enclave-share-v1:";
const PREFIX = Buffer.from(ENCLAVE_PREFIX, "latin1");
const ANY_VERSION = Buffer.from("enclave-share-", "latin1");
const COLON = 0x3a;

// ---- byte-level codecs ----

const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

export function hexEncode(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    out[2 * i] = HEX_DIGITS[bytes[i]! >> 4]!;
    out[2 * i + 1] = HEX_DIGITS[bytes[i]! & 0x0f]!;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** Hex (either case) to bytes; undefined unless every character is a hex digit and the length is even. */
export function hexDecode(text: Uint8Array): Buffer | undefined {
  if (text.length === 0 || text.length % 2 !== 0) return undefined;
  const out = Buffer.alloc(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(text[2 * i]!);
    const lo = hexValue(text[2 * i + 1]!);
    if (hi < 0 || lo < 0) {
      out.fill(0);
      return undefined;
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const B64_ALPHABET = Buffer.from(
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
  "latin1",
);
const B64_VALUE = new Int16Array(256).fill(-1);
B64_ALPHABET.forEach((c, i) => {
  B64_VALUE[c] = i;
});
const PAD = 0x3d; // "="

/** Standard, padded base64 (RFC 4648 §4), as Go's base64.StdEncoding writes it. */
export function base64Encode(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = B64_ALPHABET[(n >> 18) & 63]!;
    out[o++] = B64_ALPHABET[(n >> 12) & 63]!;
    out[o++] = B64_ALPHABET[(n >> 6) & 63]!;
    out[o++] = B64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = B64_ALPHABET[(n >> 18) & 63]!;
    out[o++] = B64_ALPHABET[(n >> 12) & 63]!;
    out[o++] = rest === 2 ? B64_ALPHABET[(n >> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return out;
}

/**
 * Standard padded base64 to bytes; undefined unless it is canonical: length a multiple of 4, only
 * alphabet characters, "=" only as the last one or two, and zero unused bits (so that one share
 * has exactly one spelling, and a changed last character is noticed).
 */
export function base64Decode(text: Uint8Array): Buffer | undefined {
  const len = text.length;
  if (len === 0 || len % 4 !== 0) return undefined;
  const pad = text[len - 1] === PAD ? (text[len - 2] === PAD ? 2 : 1) : 0;
  const out = Buffer.alloc((len / 4) * 3 - pad);
  let o = 0;
  const fail = () => {
    out.fill(0);
    return undefined;
  };
  for (let i = 0; i < len; i += 4) {
    const last = i + 4 === len;
    const v0 = B64_VALUE[text[i]!]!;
    const v1 = B64_VALUE[text[i + 1]!]!;
    const v2 = last && pad === 2 ? 0 : B64_VALUE[text[i + 2]!]!;
    const v3 = last && pad >= 1 ? 0 : B64_VALUE[text[i + 3]!]!;
    if (v0 < 0 || v1 < 0 || v2 < 0 || v3 < 0) return fail();
    if (last && pad === 2 && (v1 & 0x0f) !== 0) return fail();
    if (last && pad === 1 && (v2 & 0x03) !== 0) return fail();
    const n = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
    out[o++] = (n >> 16) & 0xff;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

// ---- lines ----

const isBlank = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d;

/**
 * The share lines of a text (a file, a secret, stdin): split on LF, spaces/tabs/CR trimmed, blank
 * lines and lines starting with "#" skipped. Views into `text` (no copies): wipe `text` when done.
 */
export function shareLines(text: Buffer): { lineNo: number; line: Buffer }[] {
  const out: { lineNo: number; line: Buffer }[] = [];
  let start = 0;
  let lineNo = 0;
  while (start <= text.length) {
    let end = text.indexOf(0x0a, start);
    if (end < 0) end = text.length;
    lineNo++;
    let a = start;
    let b = end;
    while (a < b && isBlank(text[a]!)) a++;
    while (b > a && isBlank(text[b - 1]!)) b--;
    if (b > a && text[a] !== 0x23) out.push({ lineNo, line: text.subarray(a, b) });
    start = end + 1;
  }
  return out;
}

/** The fields of an enclave-form share. `share` is a Vault-layout share of the secret. */
export interface EnclaveShare {
  threshold: number;
  /** 16 lowercase hex characters (not secret). */
  splitId: string;
  share: Buffer;
  /** This share's y-bytes of the check key (same x as `share`). */
  check: Buffer;
  tag: Buffer;
}

export type DecodedLine =
  | ({ kind: "enclave" } & EnclaveShare)
  /** A raw share; two candidates when the text is valid as both hex and base64. */
  | { kind: "raw"; candidates: { form: RawForm; bytes: Buffer }[] };

export function wipeDecoded(d: DecodedLine | undefined): void {
  if (!d) return;
  if (d.kind === "enclave") {
    d.share.fill(0);
    d.check.fill(0);
    d.tag.fill(0);
  } else for (const c of d.candidates) c.bytes.fill(0);
}

export function encodeEnclaveLine(s: EnclaveShare): Buffer {
  const parts = [
    PREFIX,
    Buffer.from(`${s.threshold}:${s.splitId}:`, "latin1"),
    base64Encode(s.share),
    Buffer.of(COLON),
    hexEncode(s.check),
    Buffer.of(COLON),
    hexEncode(s.tag),
  ];
  const line = Buffer.concat(parts);
  for (const p of parts.slice(2)) p.fill(0);
  return line;
}

export function encodeRawLine(share: Buffer, form: RawForm): Buffer {
  return form === "hex" ? hexEncode(share) : base64Encode(share);
}

function startsWith(line: Buffer, prefix: Buffer): boolean {
  return line.length >= prefix.length && line.subarray(0, prefix.length).equals(prefix);
}

function isAscii(line: Buffer, test: (c: number) => boolean, from = 0, to = line.length): boolean {
  for (let i = from; i < to; i++) if (!test(line[i]!)) return false;
  return true;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isLowerHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66);

function decodeEnclave(line: Buffer, label: string): DecodedLine {
  const bad = (what: string) =>
    new ShareError(`${label}: not a valid enclave share (${what}); was it copied whole?`);
  const fields: Buffer[] = [];
  let start = PREFIX.length;
  for (;;) {
    const colon = line.indexOf(COLON, start);
    fields.push(line.subarray(start, colon < 0 ? line.length : colon));
    if (colon < 0) break;
    start = colon + 1;
  }
  if (fields.length !== 5) throw bad(`expected 5 fields after the prefix, found ${fields.length}`);
  const [k, id, share, check, tag] = fields as [Buffer, Buffer, Buffer, Buffer, Buffer];
  if (k.length === 0 || k.length > 3 || !isAscii(k, isDigit) || k[0] === 0x30) throw bad("threshold");
  const threshold = Number(k.toString("latin1"));
  if (threshold < MIN_SHARES || threshold > MAX_SHARES) throw bad("threshold out of range 2..255");
  if (id.length !== SPLIT_ID_BYTES * 2 || !isAscii(id, isLowerHex)) throw bad("split id");
  if (check.length !== CHECK_KEY_BYTES * 2 || !isAscii(check, isLowerHex)) throw bad("check field");
  if (tag.length !== TAG_BYTES * 2 || !isAscii(tag, isLowerHex)) throw bad("tag");
  const shareBytes = base64Decode(share);
  if (!shareBytes) throw bad("the share field is not canonical base64");
  if (shareBytes.length < 2) {
    shareBytes.fill(0);
    throw bad("the share field is too short");
  }
  return {
    kind: "enclave",
    threshold,
    splitId: id.toString("latin1"),
    share: shareBytes,
    check: hexDecode(check)!,
    tag: hexDecode(tag)!,
  };
}

/**
 * Decode one share line. With `form` "auto": an `enclave-share-` prefix means the enclave form;
 * otherwise the line is hex if it can be, base64 if it can be — both candidates are kept when it
 * can be either (short shares), and the caller picks by length agreement with the other shares.
 */
export function decodeLine(line: Buffer, form: ShareForm | "auto", label: string): DecodedLine {
  const enclave = startsWith(line, ANY_VERSION);
  if (enclave && !startsWith(line, PREFIX))
    throw new ShareError(
      `${label}: an enclave share of a version this enclave does not know (expected ${ENCLAVE_PREFIX}…); upgrade enclave`,
    );
  if (form === "enclave" || (form === "auto" && enclave)) {
    if (!enclave)
      throw new ShareError(
        `${label}: not an enclave share (they start with ${ENCLAVE_PREFIX}); drop --format`,
      );
    return decodeEnclave(line, label);
  }
  if (enclave)
    throw new ShareError(
      `${label}: this is an enclave share, not ${form}; drop --format (or pass --format enclave)`,
    );
  const candidates: { form: RawForm; bytes: Buffer }[] = [];
  if (form !== "base64") {
    const hex = hexDecode(line);
    if (hex) candidates.push({ form: "hex", bytes: hex });
  }
  if (form !== "hex") {
    const b64 = base64Decode(line);
    if (b64) candidates.push({ form: "base64", bytes: b64 });
  }
  if (candidates.length === 0)
    throw new ShareError(
      form === "auto"
        ? `${label}: not a share: neither an enclave share, hex, nor canonical base64`
        : `${label}: not valid ${form === "hex" ? "hex" : "canonical padded base64"}`,
    );
  return { kind: "raw", candidates };
}
