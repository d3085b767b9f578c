/**
 * KDF cost against the OWASP Password Storage Cheat Sheet. OWASP lists five argon2id
 * configurations it considers equivalent in defence (more memory, fewer passes) and one scrypt
 * configuration; enclave's default and its floor are timed with the same code, in the same run,
 * so the ratios do not depend on the machine.
 */
import { randomBytes } from "node:crypto";
import { wipe } from "../../src/secure/buffers.js";
import { SALT_LENGTH } from "../../src/vault/format.js";
import {
  DEFAULT_KDF,
  deriveMasterKey,
  describeKdf,
  KDF_FLOOR,
  type KdfParams,
  kdfMemoryBytes,
} from "../../src/vault/kdf.js";
import { type Stats, sampleRuns, timed } from "./stats.js";

export interface KdfCase {
  label: string;
  params: KdfParams;
}

const argon2id = (memoryKiB: number, iterations: number): KdfParams => ({
  id: "argon2id",
  memoryKiB,
  iterations,
  parallelism: 1,
});

export const ENCLAVE_DEFAULT: KdfCase = { label: "enclave default", params: DEFAULT_KDF };
export const ENCLAVE_FLOOR: KdfCase = {
  label: "enclave floor",
  params: { id: "argon2id", ...KDF_FLOOR.argon2id },
};

export const OWASP_CASES: KdfCase[] = [
  { label: "OWASP argon2id #1", params: argon2id(47104, 1) },
  { label: "OWASP argon2id #2", params: argon2id(19456, 2) },
  { label: "OWASP argon2id #3", params: argon2id(12288, 3) },
  { label: "OWASP argon2id #4", params: argon2id(9216, 4) },
  { label: "OWASP argon2id #5", params: argon2id(7168, 5) },
  { label: "OWASP scrypt", params: { id: "scrypt", ...KDF_FLOOR.scrypt } },
];

/** One derivation with a fresh salt, as an unlock does; the key is wiped at once. */
export async function timeDerivation(passphrase: Buffer, salt: Buffer, params: KdfParams): Promise<number> {
  const { ms, result } = await timed(() => deriveMasterKey(passphrase, salt, params));
  wipe(result);
  return ms;
}

export function measureKdf(passphrase: Buffer, params: KdfParams, reps: number): Promise<Stats> {
  const salt = randomBytes(SALT_LENGTH);
  return sampleRuns(reps, () => timeDerivation(passphrase, salt, params));
}

export interface KdfComparisonRow {
  label: string;
  kdf: string;
  params: KdfParams;
  memoryMiB: number;
  time: Stats;
  /** Median time of enclave's default divided by this configuration's. */
  defaultRatio: number;
  /** Median time of enclave's floor divided by this configuration's. */
  floorRatio: number;
}

/** Time every case once (identical parameters share one measurement) and relate them. */
export async function compareKdfs(passphrase: Buffer, reps: number): Promise<KdfComparisonRow[]> {
  const cases = [ENCLAVE_DEFAULT, ENCLAVE_FLOOR, ...OWASP_CASES];
  const byParams = new Map<string, Stats>();
  for (const c of cases) {
    const key = describeKdf(c.params);
    if (!byParams.has(key)) byParams.set(key, await measureKdf(passphrase, c.params, reps));
  }
  const median = (c: KdfCase) => byParams.get(describeKdf(c.params))!.median;
  return cases.map((c) => ({
    label: c.label,
    kdf: describeKdf(c.params),
    params: c.params,
    memoryMiB: kdfMemoryBytes(c.params) / 1048576,
    time: byParams.get(describeKdf(c.params))!,
    defaultRatio: median(ENCLAVE_DEFAULT) / median(c),
    floorRatio: median(ENCLAVE_FLOOR) / median(c),
  }));
}
