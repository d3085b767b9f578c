/**
 * Shamir split/combine over GF(2^8), in the share layout of HashiCorp Vault / OpenBao.
 *
 * The arithmetic is not ours: it is the audited `shamir-secret-sharing` package (Privy; Cure53 and
 * Zellic audits). This file only adapts it to Buffers (wiping every copy it makes) and adds the
 * structural checks a raw share allows. What was checked against Vault's source
 * (hashicorp/vault, shamir/shamir.go and shamir/tables.go):
 *
 *  - Field: GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (0x11B, the AES field). Older Vault multiplies
 *    with log/exp tables for generator 0xe5 (tables.go); current Vault multiplies bit-serially,
 *    reducing by 0x1B. The package's tables are byte-for-byte Vault's tables.go, and table
 *    multiplication equals the bit-serial one for all 65,536 pairs (checked; the known-answer test
 *    in test/shamir pins it with a vector computed by the bit-serial method).
 *  - One independent random polynomial per secret byte; its constant term is the byte.
 *  - Share layout {y_1 … y_L, x}: L y-bytes, then ONE x-coordinate byte as the LAST byte
 *    (Vault's ShareOverhead = 1). Combine reads x from the last byte of each share.
 *  - x coordinates: distinct, in 1..255, never 0 (x = 0 would be the secret). Vault's first
 *    version used 1..N in order, later a math/rand permutation of 1..255, now a crypto/rand
 *    Fisher–Yates shuffle of 1..255; the package shuffles 1..255 with crypto randomness too.
 *    Combine never depends on how x was chosen, so shares from any of them combine here.
 *
 * Limits of the package, accepted: its internal coefficient arrays are not wiped, and its table
 * lookups are not constant-time. Both are in-process, for the instant of one split or combine.
 */
import { combine, split } from "shamir-secret-sharing";
import { EnclaveError, UsageError } from "../errors.js";
import { wipe } from "../secure/buffers.js";

export const MIN_SHARES = 2;
export const MAX_SHARES = 255;
/** Shamir here is for keys: a larger secret should be encrypted and its key split instead. */
export const MAX_SECRET_BYTES = 65536;

/** A share that cannot be used: malformed, inconsistent with the others, or failing verification (exit 1). */
export class ShareError extends EnclaveError {}

/** A share in Vault layout, with where it came from (for messages; never its content). */
export interface LabelledShare {
  label: string;
  bytes: Buffer;
}

/** The x-coordinate of a Vault-layout share: its last byte. */
export function shareX(share: Buffer): number {
  return share[share.length - 1]!;
}

/** Check N and K before anything is read or asked (usage errors, exit 2). */
export function assertSplitParameters(shares: number, threshold: number): void {
  if (!Number.isInteger(shares) || shares < MIN_SHARES || shares > MAX_SHARES)
    throw new UsageError(`--shares must be a whole number from ${MIN_SHARES} to ${MAX_SHARES}`);
  if (!Number.isInteger(threshold) || threshold < MIN_SHARES || threshold > shares)
    throw new UsageError(
      `--threshold must be a whole number from ${MIN_SHARES} to the number of shares (${shares})`,
    );
}

export function assertSecretSize(length: number): void {
  if (length === 0) throw new UsageError("the secret is empty; there is nothing to split");
  if (length > MAX_SECRET_BYTES)
    throw new UsageError(
      `the secret is ${length} bytes; shamir splits at most ${MAX_SECRET_BYTES}. ` +
        "Encrypt the data and split its key instead",
    );
}

/**
 * Split into `shares` Vault-layout shares, any `threshold` of which rebuild `secret`.
 * The caller keeps ownership of `secret` and must wipe the returned shares.
 */
export async function splitVaultLayout(secret: Buffer, shares: number, threshold: number): Promise<Buffer[]> {
  assertSplitParameters(shares, threshold);
  if (secret.length === 0) throw new UsageError("the secret is empty; there is nothing to split");
  // The package checks `value.constructor === Uint8Array`: a Buffer is refused, so copy (then wipe).
  const input = new Uint8Array(secret.length);
  input.set(secret);
  try {
    const out = await split(input, shares, threshold);
    return out.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)); // views: wiping them wipes the package's arrays
  } finally {
    wipe(input);
  }
}

/**
 * The structural checks a raw share allows — all that can be checked without an integrity tag:
 * at least two shares, all the same length (at least one secret byte plus x), x never 0, and no
 * x-coordinate twice (the same share given twice, or two shares that cannot be from one split).
 */
export function checkVaultShares(shares: LabelledShare[]): void {
  if (shares.length < MIN_SHARES)
    throw new ShareError(`at least ${MIN_SHARES} shares are needed to combine; got ${shares.length}`);
  const first = shares[0]!;
  for (const s of shares) {
    if (s.bytes.length < 2)
      throw new ShareError(`${s.label}: the share is too short (${s.bytes.length} byte) to hold a secret`);
    if (s.bytes.length !== first.bytes.length)
      throw new ShareError(
        `${s.label} is ${s.bytes.length} bytes but ${first.label} is ${first.bytes.length}: ` +
          "shares of one split all have the same length (one is truncated or from another split)",
      );
    if (shareX(s.bytes) === 0)
      throw new ShareError(`${s.label}: x-coordinate 0 is never a valid share (the share is corrupted)`);
  }
  const seen = new Map<number, LabelledShare>();
  for (const s of shares) {
    const x = shareX(s.bytes);
    const other = seen.get(x);
    if (other)
      throw new ShareError(
        other.bytes.equals(s.bytes)
          ? `${s.label} is the same share as ${other.label}; give each share once`
          : `${s.label} and ${other.label} have the same x-coordinate but different values: ` +
              "they cannot both be from one split (one is corrupted, or from another split)",
      );
    seen.set(x, s);
  }
}

/**
 * Lagrange-interpolate Vault-layout shares at x = 0. Unverified: any consistent-looking input gives
 * some bytes. The caller checks with checkVaultShares first and owns (wipes) the result.
 */
export async function combineVaultLayout(shares: Buffer[]): Promise<Buffer> {
  const copies = shares.map((s) => {
    const u = new Uint8Array(s.length); // plain Uint8Array: the package refuses Buffers
    u.set(s);
    return u;
  });
  try {
    const out = await combine(copies);
    return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  } finally {
    wipe(...copies);
  }
}
