/**
 * Baseline files: findings someone reviewed and accepted, by fingerprint (no secret values).
 * `enclave scan --write-baseline FILE` records the current findings; `--baseline FILE` suppresses them.
 */
import { readFileSync } from "node:fs";
import { EnclaveError } from "../errors.js";
import { atomicWriteFile } from "../platform/atomic-write.js";
import type { Finding } from "./findings.js";

interface BaselineFile {
  version: 1;
  fingerprints: { fingerprint: string; ruleId: string; path: string }[];
}

export function loadBaseline(path: string): Set<string> {
  let parsed: BaselineFile;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as BaselineFile;
  } catch (e) {
    throw new EnclaveError(`cannot read baseline ${path}: ${(e as Error).message}`);
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.fingerprints))
    throw new EnclaveError(
      `${path} is not an enclave scan baseline (expected {"version":1,"fingerprints":[…]})`,
    );
  return new Set(parsed.fingerprints.map((f) => f.fingerprint));
}

export function writeBaseline(path: string, findings: Finding[]): void {
  const file: BaselineFile = {
    version: 1,
    fingerprints: findings.map((f) => ({ fingerprint: f.fingerprint, ruleId: f.ruleId, path: f.path })),
  };
  atomicWriteFile(path, Buffer.from(`${JSON.stringify(file, null, 2)}\n`), 0o644);
}
