/**
 * Find the vault's own secret values in text — also base64, base64url, hex and URL-encoded —
 * without turning them into JS strings: every form is kept in a Buffer (wiped at the end) and
 * matched over raw bytes with a rolling hash of each form's first WINDOW bytes (Rabin–Karp), so
 * one pass over a file checks every form of every secret.
 */
import { wipe } from "../secure/buffers.js";

export interface KnownSecret {
  name: string;
  value: Buffer;
}

export interface KnownMatch {
  name: string;
  encoding: Encoding;
  /** Byte offset in the scanned buffer. */
  offset: number;
  length: number;
}

export type Encoding = "raw" | "base64" | "base64url" | "hex" | "HEX" | "url-encoded";

/** Values shorter than this are not searched for: they would match all over ordinary text. */
export const MIN_KNOWN_LENGTH = 8;
const WINDOW = MIN_KNOWN_LENGTH;
const BASE = 257;
/** BASE^(WINDOW-1) mod 2^32, to drop the byte leaving the window. */
const DROP = (() => {
  let p = 1;
  for (let i = 0; i < WINDOW - 1; i++) p = Math.imul(p, BASE) >>> 0;
  return p;
})();

interface Form {
  name: string;
  encoding: Encoding;
  bytes: Buffer;
}

function encodings(value: Buffer): [Encoding, Buffer][] {
  const out: [Encoding, Buffer][] = [["raw", Buffer.from(value)]];
  const b64 = value.toString("base64");
  out.push(["base64", Buffer.from(b64)]);
  // Unpadded standard base64 (a padded form minus its "="), and base64url.
  out.push(
    ["base64", Buffer.from(b64.replace(/=+$/, ""))],
    ["base64url", Buffer.from(value.toString("base64url"))],
  );
  const hex = value.toString("hex");
  out.push(["hex", Buffer.from(hex)], ["HEX", Buffer.from(hex.toUpperCase())]);
  // URL encoding only differs for values with reserved characters.
  const raw = value.toString("latin1");
  let url = "";
  for (const ch of raw)
    url += /[A-Za-z0-9\-_.~]/.test(ch)
      ? ch
      : `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
  if (url !== raw) {
    out.push(["url-encoded", Buffer.from(url)]);
    out.push(["url-encoded", Buffer.from(url.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()))]);
    // encodeURIComponent leaves !'()* alone, unlike the strict form above.
    const component = url.replace(/%(21|27|28|29|2A)/g, (_m, h: string) =>
      String.fromCharCode(Number.parseInt(h, 16)),
    );
    out.push(["url-encoded", Buffer.from(component)]);
  }
  return out;
}

function windowHash(b: Buffer, at: number): number {
  let h = 0;
  for (let i = 0; i < WINDOW; i++) h = (Math.imul(h, BASE) + b[at + i]!) >>> 0;
  return h;
}

export class KnownMatcher {
  private readonly byHash = new Map<number, Form[]>();
  /** A bit per (hash mod 2^20): most positions are rejected here without a Map lookup. */
  private readonly filter = new Uint8Array(1 << 17);
  private readonly forms: Form[] = [];
  /** Secrets too short to be searched for (reported to the user by name). */
  readonly tooShort: string[] = [];

  constructor(secrets: KnownSecret[]) {
    for (const s of secrets) {
      if (s.value.length < MIN_KNOWN_LENGTH) {
        this.tooShort.push(s.name);
        continue;
      }
      const seen = new Set<string>();
      for (const [encoding, bytes] of encodings(s.value)) {
        const key = bytes.toString("latin1");
        if (seen.has(key)) {
          wipe(bytes);
          continue;
        }
        seen.add(key);
        const form = { name: s.name, encoding, bytes };
        this.forms.push(form);
        const h = windowHash(bytes, 0);
        this.filter[(h & 0xfffff) >>> 3]! |= 1 << (h & 7);
        const list = this.byHash.get(h);
        if (list) list.push(form);
        else this.byHash.set(h, [form]);
      }
    }
  }

  get size(): number {
    return this.forms.length;
  }

  /** Every occurrence of any form in `buf` (overlapping forms of one secret reported once: the longest). */
  findIn(buf: Buffer): KnownMatch[] {
    const out: KnownMatch[] = [];
    if (this.forms.length === 0 || buf.length < WINDOW) return out;
    let h = windowHash(buf, 0);
    let coveredUntil = -1;
    for (let i = 0; ; i++) {
      const candidates = this.filter[(h & 0xfffff) >>> 3]! & (1 << (h & 7)) ? this.byHash.get(h) : undefined;
      if (candidates && i >= coveredUntil) {
        let best: Form | undefined;
        for (const f of candidates)
          if (
            i + f.bytes.length <= buf.length &&
            buf.compare(f.bytes, 0, f.bytes.length, i, i + f.bytes.length) === 0
          )
            if (!best || f.bytes.length > best.bytes.length) best = f;
        if (best) {
          out.push({ name: best.name, encoding: best.encoding, offset: i, length: best.bytes.length });
          coveredUntil = i + best.bytes.length;
        }
      }
      if (i + WINDOW >= buf.length) break;
      h = (Math.imul((h - Math.imul(buf[i]!, DROP)) >>> 0, BASE) + buf[i + WINDOW]!) >>> 0;
    }
    return out;
  }

  wipe(): void {
    for (const f of this.forms) wipe(f.bytes);
    this.forms.length = 0;
    this.byHash.clear();
  }
}
