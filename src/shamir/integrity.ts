/**
 * The integrity tag of enclave-form shares: lets `combine` tell the right secret from garbage.
 *
 * Raw Shamir shares carry no redundancy: any K byte strings of equal length and distinct x
 * "combine" to some value, so a corrupted share, or one from another split, silently yields wrong
 * bytes. Enclave's share form adds a tag, computed once per split and copied into every share:
 *
 *   tag = first 16 bytes of HMAC-SHA256(key = checkKey,
 *                                       "enclave-share-v1" 0x00 || splitId (8) || K (1) || secret)
 *
 * Why a secret check key rather than a hash of the secret under a public salt: any public function
 * of the secret lets whoever holds ONE share test guesses offline (a short passphrase would fall to
 * a dictionary), which breaks Shamir's promise that fewer than K shares say nothing. The check key
 * is 16 random bytes split together with the secret (same polynomials' degree, same x), so it is
 * exactly as hidden as the secret: with fewer than K shares it is uniformly random, and the tag — a
 * PRF output under an unknown 128-bit key — tells nothing about the secret. K shares recover both,
 * and the tag is recomputed and compared in constant time.
 *
 * The split id (8 random bytes, in clear in every share, never derived from the secret) and K are
 * inside the MAC, so a share from another split, or a header edited to claim another threshold,
 * fails verification. A wrong or corrupted share passes with probability 2^-128.
 */
import { createHmac, randomBytes } from "node:crypto";
import { constantTimeEqual, wipe } from "../secure/buffers.js";

export const SPLIT_ID_BYTES = 8;
export const CHECK_KEY_BYTES = 16;
export const TAG_BYTES = 16;
const DOMAIN = Buffer.from("enclave-share-v1\0", "latin1");

/** A fresh random split id (not secret; identifies one split's shares). */
export function newSplitId(): Buffer {
  return randomBytes(SPLIT_ID_BYTES);
}

/** A fresh random check key (secret: split with the secret, wiped by the caller). */
export function newCheckKey(): Buffer {
  return randomBytes(CHECK_KEY_BYTES);
}

export function computeTag(checkKey: Buffer, splitId: Buffer, threshold: number, secret: Buffer): Buffer {
  if (checkKey.length !== CHECK_KEY_BYTES) throw new RangeError("check key must be 16 bytes");
  if (splitId.length !== SPLIT_ID_BYTES) throw new RangeError("split id must be 8 bytes");
  const mac = createHmac("sha256", checkKey)
    .update(DOMAIN)
    .update(splitId)
    .update(Buffer.of(threshold))
    .update(secret)
    .digest();
  const tag = Buffer.from(mac.subarray(0, TAG_BYTES));
  wipe(mac);
  return tag;
}

/** True when `tag` is the tag of this secret under this check key, split id and threshold. */
export function verifyTag(
  tag: Buffer,
  checkKey: Buffer,
  splitId: Buffer,
  threshold: number,
  secret: Buffer,
): boolean {
  const expected = computeTag(checkKey, splitId, threshold, secret);
  try {
    return constantTimeEqual(expected, tag);
  } finally {
    wipe(expected);
  }
}
