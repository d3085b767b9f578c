/**
 * enclave's Shamir scheme, as the CLI uses it: split a secret into share lines of one form, and
 * combine share lines back — verifying the integrity tag of enclave-form shares, and doing the
 * checks raw (Vault-form) shares allow. No terminal I/O here.
 *
 * Enclave form: the library splits `secret || checkKey` in one go. Every byte has its own
 * polynomial, so the first L y-bytes plus x are exactly a Vault-layout share of the secret alone,
 * and the next 16 y-bytes are this share's share of the check key (same x). See integrity.ts.
 *
 * Ownership: the caller owns the secret it passes to splitSecret, and the secret combineShareLines
 * returns; every other copy made here is wiped before returning or throwing.
 */
import { UsageError } from "../errors.js";
import { wipe } from "../secure/buffers.js";
import {
  type DecodedLine,
  decodeLine,
  type EnclaveShare,
  encodeEnclaveLine,
  encodeRawLine,
  type RawForm,
  type ShareForm,
  wipeDecoded,
} from "./encoding.js";
import { CHECK_KEY_BYTES, computeTag, newCheckKey, newSplitId, verifyTag } from "./integrity.js";
import {
  assertSecretSize,
  assertSplitParameters,
  checkVaultShares,
  combineVaultLayout,
  type LabelledShare,
  ShareError,
  shareX,
  splitVaultLayout,
} from "./shares.js";

export interface SplitOptions {
  shares: number;
  threshold: number;
  form: ShareForm;
}

export interface SplitShareLine {
  /** 1-based position in the output. */
  index: number;
  /** The share's x-coordinate (its last byte in the Vault layout). */
  x: number;
  /** The share in text form, without a line ending. Secret: wipe it (wipeSplit). */
  line: Buffer;
}

export interface SplitResult {
  form: ShareForm;
  threshold: number;
  count: number;
  /** The split id of enclave-form shares; null for raw forms. */
  splitId: string | null;
  secretBytes: number;
  shares: SplitShareLine[];
}

export function wipeSplit(r: SplitResult): void {
  for (const s of r.shares) wipe(s.line);
}

/** Split `secret` (not wiped: the caller owns it) into share lines. */
export async function splitSecret(secret: Buffer, o: SplitOptions): Promise<SplitResult> {
  assertSplitParameters(o.shares, o.threshold);
  assertSecretSize(secret.length);
  const base = {
    form: o.form,
    threshold: o.threshold,
    count: o.shares,
    secretBytes: secret.length,
  };
  if (o.form !== "enclave") {
    const raw = await splitVaultLayout(secret, o.shares, o.threshold);
    const shares = raw.map((s, i) => {
      const out = { index: i + 1, x: shareX(s), line: encodeRawLine(s, o.form as RawForm) };
      wipe(s);
      return out;
    });
    return { ...base, splitId: null, shares };
  }
  const splitIdBytes = newSplitId();
  const splitId = splitIdBytes.toString("hex");
  const checkKey = newCheckKey();
  const payload = Buffer.concat([secret, checkKey]);
  const tag = computeTag(checkKey, splitIdBytes, o.threshold, secret);
  const L = secret.length;
  try {
    const full = await splitVaultLayout(payload, o.shares, o.threshold);
    const shares = full.map((s, i) => {
      const share = Buffer.alloc(L + 1);
      s.copy(share, 0, 0, L);
      share[L] = shareX(s);
      const check = Buffer.from(s.subarray(L, L + CHECK_KEY_BYTES));
      const line = encodeEnclaveLine({ threshold: o.threshold, splitId, share, check, tag });
      const out = { index: i + 1, x: shareX(s), line };
      wipe(s, share, check);
      return out;
    });
    return { ...base, splitId, shares };
  } finally {
    wipe(payload, checkKey, tag);
  }
}

/** One share line and where it came from ("file a.txt line 2"); the label goes into messages. */
export interface ShareLine {
  label: string;
  line: Buffer;
}

export interface CombineOptions {
  /** Force a form instead of recognising each line's. */
  form?: ShareForm | "auto";
  /** For raw shares: refuse fewer, and check that extra shares agree. Enclave shares carry K. */
  threshold?: number;
}

export interface CombineResult {
  /** The secret; the caller owns and wipes it. */
  secret: Buffer;
  /** The forms the lines were read as. */
  forms: ShareForm[];
  /** Enclave form: the integrity tag matched. Raw forms: always false (nothing to verify with). */
  verified: boolean;
  /** K: from the shares (enclave form) or --threshold (raw); null when unknown. */
  threshold: number | null;
  /** How many shares went into the secret. */
  used: number;
  /** Enclave form with more than K shares: shares that did not fit the verified secret (left out). */
  rejected: string[];
  /** Raw shares with --threshold and more than K given: the extra shares agreed with the others. */
  extrasAgree: boolean;
  /** All lines were short and valid both as hex and base64, and were read as hex. */
  readAsHexAmbiguous: boolean;
}

/** Raw shares up to this length (8 text characters) could plausibly be base64 read as hex. */
const SHORT_SHARE_BYTES = 4;

/** At most this many K-subsets are tried to find the corrupted shares among more than K. */
const MAX_SUBSETS = 10_000;

/** Decode and combine share lines. Throws ShareError (exit 1) when the shares cannot give a secret. */
export async function combineShareLines(lines: ShareLine[], o: CombineOptions = {}): Promise<CombineResult> {
  if (lines.length === 0) throw new UsageError("no shares were given");
  const decoded: { label: string; d: DecodedLine }[] = [];
  try {
    for (const l of lines) decoded.push({ label: l.label, d: decodeLine(l.line, o.form ?? "auto", l.label) });
    const enclave = decoded.filter((x) => x.d.kind === "enclave");
    if (enclave.length > 0 && enclave.length < decoded.length) {
      const raw = decoded.find((x) => x.d.kind === "raw")!;
      throw new ShareError(
        `${raw.label} is a raw (hex/base64) share but ${enclave[0]!.label} is an enclave share: ` +
          "combine one split's shares in one form (the 4th field of an enclave share is its raw base64 share)",
      );
    }
    if (enclave.length > 0)
      return await combineEnclave(
        enclave.map((x) => ({ label: x.label, ...(x.d as { kind: "enclave" } & EnclaveShare) })),
        o.threshold,
      );
    return await combineRaw(
      decoded.map((x) => ({ label: x.label, d: x.d as Extract<DecodedLine, { kind: "raw" }> })),
      o.threshold,
    );
  } finally {
    for (const x of decoded) wipeDecoded(x.d);
  }
}

type LabelledEnclave = EnclaveShare & { label: string };

async function combineEnclave(shares: LabelledEnclave[], threshold?: number): Promise<CombineResult> {
  const first = shares[0]!;
  for (const s of shares) {
    if (s.splitId !== first.splitId)
      throw new ShareError(
        `${s.label} is from another split (id ${s.splitId}) than ${first.label} (id ${first.splitId}); ` +
          "combine the shares of one split",
      );
    if (s.threshold !== first.threshold || !s.tag.equals(first.tag))
      throw new ShareError(
        `${s.label} and ${first.label} carry the same split id but a different threshold or tag: ` +
          "a share was edited or corrupted",
      );
  }
  const K = first.threshold;
  if (threshold !== undefined && threshold !== K)
    throw new UsageError(
      `--threshold ${threshold} contradicts the shares, which were split with threshold ${K}`,
    );
  if (shares.length < K)
    throw new ShareError(
      `these shares were split with threshold ${K}: ${K} are needed, ${shares.length} given. Fewer reveal nothing`,
    );
  checkVaultShares(shares.map((s) => ({ label: s.label, bytes: s.share })));
  const splitId = Buffer.from(first.splitId, "hex");
  const L = first.share.length - 1;
  // Rebuild each share of `secret || checkKey`: y-bytes of the secret, y-bytes of the key, x.
  const payloads = shares.map((s) =>
    Buffer.concat([s.share.subarray(0, L), s.check, Buffer.of(shareX(s.share))]),
  );
  /** The secret when the shares at `idx` recombine to a secret whose tag matches; else undefined. */
  const attempt = async (idx: number[]): Promise<Buffer | undefined> => {
    const payload = await combineVaultLayout(idx.map((i) => payloads[i]!));
    const secret = Buffer.from(payload.subarray(0, L));
    const ok = verifyTag(first.tag, payload.subarray(L), splitId, K, secret);
    wipe(payload);
    if (ok) return secret;
    wipe(secret);
    return undefined;
  };
  try {
    const all = shares.map((_, i) => i);
    const secret = await attempt(all);
    const base = {
      forms: ["enclave" as ShareForm],
      verified: true,
      threshold: K,
      extrasAgree: false,
      readAsHexAmbiguous: false,
    };
    if (secret) return { ...base, secret, used: shares.length, rejected: [] };
    if (shares.length > K && binomial(shares.length, K) <= MAX_SUBSETS)
      for (const subset of combinations(shares.length, K)) {
        const found = await attempt(subset);
        if (!found) continue;
        // Which of the others fit too? Swap each into the verified subset in place of its first.
        const rejected: string[] = [];
        let used = K;
        for (const j of all) {
          if (subset.includes(j)) continue;
          const fits = await attempt([j, ...subset.slice(1)]);
          if (fits) used++;
          else rejected.push(shares[j]!.label);
          wipe(fits);
        }
        return { ...base, secret: found, used, rejected };
      }
    throw new ShareError(
      "integrity check failed: the shares do not recombine to the secret they were split from. " +
        "At least one is corrupted or was edited (or comes from another split); nothing was output",
    );
  } finally {
    wipe(splitId, ...payloads);
  }
}

async function combineRaw(
  lines: { label: string; d: Extract<DecodedLine, { kind: "raw" }> }[],
  threshold?: number,
): Promise<CombineResult> {
  // A line valid as both hex and base64 is read as whichever gives the length the others have.
  let common: Set<number> | undefined;
  for (const l of lines) {
    const lengths = new Set(l.d.candidates.map((c) => c.bytes.length));
    common = common ? new Set([...common].filter((n) => lengths.has(n))) : lengths;
  }
  if (!common || common.size === 0) {
    // No reading gives equal lengths: report it with each line's first reading.
    checkVaultShares(lines.map((l) => ({ label: l.label, bytes: l.d.candidates[0]!.bytes })));
    throw new ShareError("the shares have different lengths"); // not reached: checkVaultShares throws
  }
  // Every line valid both ways (hex digits are base64 characters, so any hex text whose length is
  // a multiple of 4 is also base64): read as hex. Random base64 rarely consists of hex digits only
  // (22 of 64 characters), except in very short shares — those get a note.
  const bothWays = common.size > 1;
  const length = bothWays
    ? lines[0]!.d.candidates.find((c) => c.form === "hex")!.bytes.length
    : [...common][0]!;
  const readAsHexAmbiguous = bothWays && length <= SHORT_SHARE_BYTES;
  const chosen: (LabelledShare & { form: RawForm })[] = lines.map((l) => {
    const c = l.d.candidates.find((c) => c.bytes.length === length)!;
    return { label: l.label, bytes: c.bytes, form: c.form };
  });
  checkVaultShares(chosen);
  const forms = [...new Set(chosen.map((c) => c.form))];
  const base = { forms, verified: false, threshold: threshold ?? null, rejected: [], readAsHexAmbiguous };
  if (threshold !== undefined && chosen.length < threshold)
    throw new ShareError(
      `--threshold ${threshold}: ${threshold} shares are needed, ${chosen.length} given. Fewer reveal nothing`,
    );
  const bytes = chosen.map((c) => c.bytes);
  if (threshold === undefined || chosen.length === threshold)
    return { ...base, secret: await combineVaultLayout(bytes), used: chosen.length, extrasAgree: false };
  // More than K: every K of them must give the same secret. Raw shares have no tag to say which is
  // wrong, but the extras can still show that something is.
  const secret = await combineVaultLayout(bytes.slice(0, threshold));
  for (let j = threshold; j < bytes.length; j++) {
    const other = await combineVaultLayout([...bytes.slice(0, threshold - 1), bytes[j]!]);
    const same = other.equals(secret);
    wipe(other);
    if (!same) {
      wipe(secret);
      throw new ShareError(
        `the shares do not agree: with ${chosen[j]!.label} in place of ${chosen[threshold - 1]!.label}, ` +
          `${threshold} shares give another secret. At least one share is corrupted or from another split ` +
          "(raw shares carry no tag to tell which); nothing was output",
      );
    }
  }
  return { ...base, secret, used: chosen.length, extrasAgree: true };
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** All k-subsets of 0..n-1, in lexicographic order. */
export function* combinations(n: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield [...idx];
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}
