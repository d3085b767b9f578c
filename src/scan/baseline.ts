/**
 * Baseline files: findings someone reviewed and accepted, by fingerprint (no secret values).
 * `enclave scan --write-baseline FILE` records the current findings; `--baseline FILE` suppresses them.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import { atomicWriteFile } from "../platform/atomic-write.js";
import type { Finding } from "./findings.js";

interface BaselineFile {
  version: 1;
  fingerprints: { fingerprint: string; ruleId: string; path: string }[];
}

export function loadBaseline(path: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read baseline ${path}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
  }
  let parsed: BaselineFile | undefined;
  try {
    parsed = JSON.parse(text) as BaselineFile;
  } catch {
    // Never echo the parser's message: it quotes the file, which may be anything (even a .env).
  }
  const entries =
    parsed?.version === 1 && Array.isArray(parsed.fingerprints) ? parsed.fingerprints : undefined;
  if (!entries?.every((f) => typeof f?.fingerprint === "string"))
    throw new UsageError(
      `${path} is not an enclave scan baseline (expected {"version":1,"fingerprints":[…]})`,
    );
  return new Set(entries.map((f) => f.fingerprint));
}

export function writeBaseline(path: string, findings: Finding[]): void {
  const file: BaselineFile = {
    version: 1,
    fingerprints: findings.map((f) => ({ fingerprint: f.fingerprint, ruleId: f.ruleId, path: f.path })),
  };
  atomicWriteFile(path, Buffer.from(`${JSON.stringify(file, null, 2)}\n`), 0o644);
}
