/**
 * Placeholders: what the child holds instead of a real value. A placeholder has the real
 * value's length and shape (same prefix such as `ghp_` or `sk-`, a digit where it had a digit, a
 * letter of the same case where it had a letter), so a tool that checks a token's format before
 * using it still starts, and so the proxy can swap a value for its placeholder in a response
 * without changing any length (Content-Length stays right, keep-alive keeps working).
 * Placeholders are random per run: seeing one tells nothing about the value.
 */
import { randomInt } from "node:crypto";

const DIGITS = "0123456789";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A known-prefix of up to 8 characters ending in `_` or `-` (ghp_, sk-, xoxb-, glpat-) is kept. */
function keptPrefix(value: Buffer): number {
  const limit = Math.min(value.length - 1, 8);
  for (let i = 1; i < limit; i++) {
    const c = value[i]!;
    if (c === 0x5f || c === 0x2d) return i + 1;
    if (!isAlnum(c)) return 0;
  }
  return 0;
}

const isAlnum = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

export function makePlaceholder(value: Buffer): Buffer {
  const out = Buffer.alloc(value.length);
  const keep = keptPrefix(value);
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (i < keep) out[i] = c;
    else if (c >= 0x30 && c <= 0x39) out[i] = DIGITS.charCodeAt(randomInt(10));
    else if (c >= 0x61 && c <= 0x7a) out[i] = LOWER.charCodeAt(randomInt(26));
    else if (c >= 0x41 && c <= 0x5a) out[i] = UPPER.charCodeAt(randomInt(26));
    // Punctuation keeps the shape (dots of a JWT, dashes of a UUID); any other byte
    // (binary, UTF-8) becomes a letter so no fragment of the value survives.
    else out[i] = c >= 0x21 && c <= 0x7e ? c : LOWER.charCodeAt(randomInt(26));
  }
  // A value made only of kept characters (all punctuation) must still differ from the value.
  if (out.equals(value) && value.length > 0)
    out[value.length - 1] = out[value.length - 1] === 0x78 ? 0x79 : 0x78;
  return out;
}
