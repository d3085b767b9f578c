/**
 * What a scan reports. A finding never holds a secret value: only where it is, which rule or
 * vault secret it is, a redacted hint (first and last characters) and a fingerprint for baselines.
 */
import { createRequire } from "node:module";

/** node:crypto, loaded on the first fingerprint: a scan that finds nothing does not pay for it (~4 ms). */
let crypto: typeof import("node:crypto") | undefined;

export interface Finding {
  /** A rule id, or "known-secret" for a value of the unlocked vault. */
  ruleId: string;
  path: string;
  line: number;
  column: number;
  /** First and last characters only; empty for known secrets, whose values are never shown. */
  redacted: string;
  /** Stable identity of (rule, secret, path): what a baseline file lists. */
  fingerprint: string;
  /** For known secrets: the vault name and how the value was encoded where it was found. */
  secretName?: string;
  encoding?: string;
  /** For history findings: the commit that first introduced the blob. */
  commit?: string;
  author?: string;
  date?: string;
}

/** Shown in text output: enough to recognise a credential, not enough to use it. */
export function redact(secret: string): string {
  if (secret.length <= 8) return `${secret[0] ?? ""}…`;
  const keep = secret.length >= 20 ? 3 : 1;
  return `${secret.slice(0, keep)}…${secret.slice(-keep)}`;
}

/** A hash of the rule, the secret (or the vault secret's name) and the path. */
export function fingerprint(ruleId: string, secretOrName: string | Buffer, path: string): string {
  crypto ??= createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
  return crypto
    .createHash("sha256")
    .update("enclave-scan-v1\0")
    .update(ruleId)
    .update("\0")
    .update(secretOrName)
    .update("\0")
    .update(path)
    .digest("hex")
    .slice(0, 32);
}
