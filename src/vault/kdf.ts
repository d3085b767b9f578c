/**
 * Passphrase-hardening key derivation. The parameters live in the vault header so that a vault
 * made today still opens after the defaults change.
 */
import { scrypt as scryptCb } from "node:crypto";
import argon2 from "argon2";
import { UsageError } from "../errors.js";

export type KdfParams =
  | { id: "argon2id"; memoryKiB: number; iterations: number; parallelism: number }
  | { id: "scrypt"; log2N: number; r: number; p: number };

/** Numeric identifiers stored in the header (docs/format.md). */
export const KDF_IDS = { argon2id: 1, scrypt: 2 } as const;

/** Default: argon2id, 128 MiB, 3 passes — about 0.35 s on the reference 2-core machine. */
const DEFAULT_ARGON2ID = { id: "argon2id", memoryKiB: 131072, iterations: 3, parallelism: 1 } as const;
/** scrypt default = OWASP's recommendation (128 MiB), about 0.4 s on the reference machine. */
const DEFAULT_SCRYPT = { id: "scrypt", log2N: 17, r: 8, p: 1 } as const;
export const DEFAULT_KDF: KdfParams = DEFAULT_ARGON2ID;

/**
 * The floor `--kdf` may not go below: OWASP's minimum recommendations (Password Storage Cheat
 * Sheet): argon2id m=19 MiB, t=2, p=1; scrypt N=2^17, r=8, p=1.
 */
export const KDF_FLOOR = {
  argon2id: { memoryKiB: 19456, iterations: 2, parallelism: 1 },
  scrypt: { log2N: 17, r: 8, p: 1 },
} as const;

/**
 * Upper bounds accepted when *reading* a header, so a forged file cannot make us allocate
 * terabytes or spin for hours before the passphrase is even checked.
 */
const KDF_CEILING = {
  argon2id: { memoryKiB: 1024 * 1024, iterations: 32, parallelism: 16 },
  scrypt: { log2N: 22, r: 32, p: 16 },
} as const;

export const KEY_LENGTH = 32;

export function describeKdf(k: KdfParams): string {
  return k.id === "argon2id"
    ? `argon2id m=${k.memoryKiB} KiB (${(k.memoryKiB / 1024).toFixed(0)} MiB), t=${k.iterations}, p=${k.parallelism}`
    : `scrypt N=2^${k.log2N}, r=${k.r}, p=${k.p} (${((128 * k.r * 2 ** k.log2N) / 1048576).toFixed(0)} MiB)`;
}

/** Memory the KDF needs, in bytes. */
export function kdfMemoryBytes(k: KdfParams): number {
  return k.id === "argon2id" ? k.memoryKiB * 1024 : 128 * k.r * 2 ** k.log2N;
}

/**
 * Parse a `--kdf` value: `argon2id`, `scrypt`, `argon2id:m=65536,t=3,p=1`, `scrypt:ln=17,r=8,p=1`.
 * Unspecified fields take the default for that algorithm. Refuses anything below the floor.
 */
export function parseKdfSpec(spec: string): KdfParams {
  const [algo, rest] = spec.split(":", 2) as [string, string | undefined];
  const fields = new Map<string, number>();
  for (const part of rest ? rest.split(",") : []) {
    const m = /^([a-zA-Z]+)=(\d+)$/.exec(part.trim());
    if (!m) throw new UsageError(`--kdf: cannot read "${part}"; expected e.g. argon2id:m=131072,t=3,p=1`);
    fields.set(m[1]!.toLowerCase(), Number(m[2]));
  }
  const take = (allowed: string[], key: string, dflt: number): number => {
    for (const k of fields.keys())
      if (!allowed.includes(k)) throw new UsageError(`--kdf: unknown parameter "${k}" for ${algo}`);
    return fields.get(key) ?? dflt;
  };
  let params: KdfParams;
  if (algo === "argon2id") {
    const keys = ["m", "t", "p"];
    const d = DEFAULT_ARGON2ID;
    params = {
      id: "argon2id",
      memoryKiB: take(keys, "m", d.memoryKiB),
      iterations: take(keys, "t", d.iterations),
      parallelism: take(keys, "p", d.parallelism),
    };
  } else if (algo === "scrypt") {
    const keys = ["ln", "r", "p"];
    const d = DEFAULT_SCRYPT;
    params = {
      id: "scrypt",
      log2N: take(keys, "ln", d.log2N),
      r: take(keys, "r", d.r),
      p: take(keys, "p", d.p),
    };
  } else {
    throw new UsageError(`--kdf: unknown algorithm "${algo}"; use argon2id or scrypt`);
  }
  const problem = checkKdfBounds(params, "floor");
  if (problem) throw new UsageError(`--kdf: ${problem}`);
  return params;
}

/**
 * `floor`: refuse parameters weaker than the documented floor (when creating a vault).
 * `read`: refuse parameters that are absurd (when reading a header that may be forged).
 * Returns a description of the problem, or undefined when the parameters are acceptable.
 */
export function checkKdfBounds(k: KdfParams, mode: "floor" | "read"): string | undefined {
  const ceil = KDF_CEILING[k.id];
  if (k.id === "argon2id") {
    const f = KDF_FLOOR.argon2id;
    if (
      mode === "floor" &&
      (k.memoryKiB < f.memoryKiB || k.iterations < f.iterations || k.parallelism < f.parallelism)
    )
      return `argon2id below the floor (m>=${f.memoryKiB} KiB, t>=${f.iterations}, p>=${f.parallelism})`;
    const c = ceil as typeof KDF_CEILING.argon2id;
    if (
      k.memoryKiB < 8 * k.parallelism ||
      k.iterations < 1 ||
      k.parallelism < 1 ||
      k.memoryKiB > c.memoryKiB ||
      k.iterations > c.iterations ||
      k.parallelism > c.parallelism
    )
      return `argon2id parameters out of range (m<=${c.memoryKiB} KiB, t<=${c.iterations}, p<=${c.parallelism})`;
  } else {
    const f = KDF_FLOOR.scrypt;
    if (mode === "floor" && (k.log2N < f.log2N || k.r < f.r || k.p < f.p))
      return `scrypt below the floor (ln>=${f.log2N}, r>=${f.r}, p>=${f.p})`;
    const c = ceil as typeof KDF_CEILING.scrypt;
    if (k.log2N < 1 || k.r < 1 || k.p < 1 || k.log2N > c.log2N || k.r > c.r || k.p > c.p)
      return `scrypt parameters out of range (ln<=${c.log2N}, r<=${c.r}, p<=${c.p})`;
  }
  return undefined;
}

/** Derive the 32-byte master key. The caller owns (and wipes) the passphrase and the result. */
export async function deriveMasterKey(passphrase: Buffer, salt: Buffer, k: KdfParams): Promise<Buffer> {
  if (k.id === "argon2id") {
    return argon2.hash(passphrase, {
      raw: true,
      type: argon2.argon2id,
      salt,
      memoryCost: k.memoryKiB,
      timeCost: k.iterations,
      parallelism: k.parallelism,
      hashLength: KEY_LENGTH,
    });
  }
  const N = 2 ** k.log2N;
  return new Promise((resolve, reject) =>
    scryptCb(
      passphrase,
      salt,
      KEY_LENGTH,
      { N, r: k.r, p: k.p, maxmem: 256 * k.r * N + 1048576 },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}
