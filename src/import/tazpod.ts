/**
 * Reading a TazPod vault (`vault.tar.aes`) into memory, for `enclave import tazpod`.
 *
 * TazPod's format (its internal/crypto/crypto.go):
 *   file = salt[32] | nonce[12] | AES-256-GCM ciphertext | tag[16]   (no associated data)
 *   key  = PBKDF2-HMAC-SHA256(passphrase, salt, 100,000 iterations, 32 bytes)
 * The plaintext is a gzipped tar of the secrets folder (/home/tazpod/secrets), names relative to
 * it, including TazPod's own files there: `.vault_pass` (its cached passphrase) and `.aws/`.
 *
 * Pipeline, one function per step: load → derive key → decrypt → gunzip (bounded) → read tar
 * (safely, see tar-reader.ts) → secret names. Everything decrypted stays in Buffers in memory;
 * each step wipes what it no longer needs.
 */
import { createDecipheriv, pbkdf2 } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { promisify } from "node:util";
import { createGunzip } from "node:zlib";
import { AuthError, EnclaveError, ExitCode } from "../errors.js";
import { wipe } from "../secure/buffers.js";
import { compareNames } from "../vault/contents.js";
import { FolderIndex, nameProblem } from "../vault/names.js";
import { readTar, type SkippedEntry, type TarContents, TarReadError } from "./tar-reader.js";

export const TAZPOD_SALT_BYTES = 32;
export const TAZPOD_NONCE_BYTES = 12;
export const TAZPOD_TAG_BYTES = 16;
export const TAZPOD_PBKDF2_ITERATIONS = 100_000;
export const TAZPOD_KEY_BYTES = 32;
const MIN_FILE_BYTES = TAZPOD_SALT_BYTES + TAZPOD_NONCE_BYTES + TAZPOD_TAG_BYTES;

/** TazPod's cached passphrase, kept in (and so archived with) its secrets folder. */
export const TAZPOD_PASS_CACHE = ".vault_pass";
/** Top folders stripped from names: `tar -C /home/tazpod secrets` puts everything under secrets/. */
const TOP_FOLDERS = ["secrets"];

export interface TazpodLimits {
  /** Cap on the decompressed tar (a gzip bomb must not exhaust memory). */
  maxBytes: number;
  /** Cap on tar entries of any kind. */
  maxEntries: number;
}

/** TazPod mounted its folder as a 64 MiB tmpfs, so real vaults stay far below these. */
export const DEFAULT_TAZPOD_LIMITS: TazpodLimits = { maxBytes: 256 * 1024 * 1024, maxEntries: 100_000 };

export interface TazpodFile {
  salt: Buffer;
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export interface TazpodSecret {
  /** Archive entry it came from (untrusted text). */
  entry: string;
  /** Valid enclave name, relative to the secrets folder. */
  name: string;
  /** The value; the caller owns and wipes it. */
  value: Buffer;
}

export interface TazpodContents {
  /** Sorted by name. */
  secrets: TazpodSecret[];
  skipped: SkippedEntry[];
  /** The top folder that was stripped from every name (e.g. "secrets"), if any. */
  topFolder: string | null;
}

/** The file decrypted fine but is not a usable gzipped tar (exit 4). */
export class TazpodFormatError extends EnclaveError {
  constructor(file: string, detail: string) {
    super(`${file} is not a usable TazPod vault: ${detail}; nothing was imported`, ExitCode.corrupt);
  }
}

/** Read and split a TazPod vault file (ciphertext only; nothing secret yet). */
export function loadTazpodFile(path: string, limits: TazpodLimits = DEFAULT_TAZPOD_LIMITS): TazpodFile {
  let bytes: Buffer;
  try {
    // gzip never grows data by more than a few bytes per 16 KiB block, hence the margin.
    if (statSync(path).size > limits.maxBytes + 1024 * 1024)
      throw new TazpodFormatError(path, `it is larger than the import limit (${mib(limits.maxBytes)})`);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof EnclaveError) throw e;
    throw new EnclaveError(
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return splitTazpodFile(bytes, path);
}

/** salt | nonce | ciphertext | tag, as views into `bytes`. */
export function splitTazpodFile(bytes: Buffer, file = "the file"): TazpodFile {
  if (bytes.length < MIN_FILE_BYTES)
    throw new TazpodFormatError(
      file,
      `it is too short (${bytes.length} bytes; a TazPod vault has at least ${MIN_FILE_BYTES}: ` +
        `salt ${TAZPOD_SALT_BYTES} + nonce ${TAZPOD_NONCE_BYTES} + tag ${TAZPOD_TAG_BYTES})`,
    );
  const nonceEnd = TAZPOD_SALT_BYTES + TAZPOD_NONCE_BYTES;
  return {
    salt: bytes.subarray(0, TAZPOD_SALT_BYTES),
    nonce: bytes.subarray(TAZPOD_SALT_BYTES, nonceEnd),
    ciphertext: bytes.subarray(nonceEnd, bytes.length - TAZPOD_TAG_BYTES),
    tag: bytes.subarray(bytes.length - TAZPOD_TAG_BYTES),
  };
}

/** TazPod's key: PBKDF2-HMAC-SHA256, 100,000 iterations, 32 bytes. The caller wipes it. */
export function deriveTazpodKey(passphrase: Buffer, salt: Buffer): Promise<Buffer> {
  return promisify(pbkdf2)(passphrase, salt, TAZPOD_PBKDF2_ITERATIONS, TAZPOD_KEY_BYTES, "sha256");
}

/** Decrypt and authenticate; a wrong passphrase (or a foreign file) fails GCM's check: exit 3. */
export async function decryptTazpod(f: TazpodFile, passphrase: Buffer, file = "the file"): Promise<Buffer> {
  const key = await deriveTazpodKey(passphrase, f.salt);
  let plaintext: Buffer | undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, f.nonce);
    decipher.setAuthTag(f.tag);
    plaintext = decipher.update(f.ciphertext);
    decipher.final(); // throws when the tag does not match; GCM produces no further bytes
    return plaintext;
  } catch {
    wipe(plaintext); // unauthenticated bytes are never used
    throw new AuthError(
      `wrong passphrase (or not a TazPod vault): ${file} failed authentication; nothing was imported`,
    );
  } finally {
    wipe(key);
  }
}

/**
 * Gunzip into chunks, stopping as soon as the output passes `maxBytes`. The chunks (the caller
 * wipes them) are not concatenated, so the tar is held once, not twice.
 */
export function gunzipBounded(data: Buffer, maxBytes: number, file = "the file"): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const gz = createGunzip();
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (detail: string) => {
      if (settled) return;
      settled = true;
      gz.destroy();
      wipe(...chunks);
      reject(new TazpodFormatError(file, detail));
    };
    gz.on("data", (chunk: Buffer) => {
      if (settled) return wipe(chunk);
      chunks.push(chunk);
      total += chunk.length;
      if (total > maxBytes)
        fail(`it decompresses to more than ${mib(maxBytes)}, the import limit (a decompression bomb?)`);
    });
    gz.on("error", (e: NodeJS.ErrnoException) =>
      fail(
        e.code === "Z_BUF_ERROR"
          ? "the decrypted gzip data is truncated"
          : `the decrypted content is not gzip data (${e.message})`,
      ),
    );
    gz.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(chunks);
    });
    gz.end(data);
  });
}

/** The top folder every path lies under (one of TOP_FOLDERS), or null. */
function findTopFolder(tar: TarContents): string | null {
  const paths = [...tar.files.map((f) => f.path), ...tar.directories];
  for (const top of TOP_FOLDERS) {
    const inside = (p: string) => p === top || p.startsWith(`${top}/`);
    if (tar.files.length > 0 && paths.every(inside)) return top;
  }
  return null;
}

/** Why a (top-folder-relative) path is not imported as a secret, or undefined. */
function pathProblem(path: string): string | undefined {
  if (path === TAZPOD_PASS_CACHE) return "TazPod's cached passphrase (.vault_pass); never imported";
  if (path.split("/").some((s) => s.startsWith(".")))
    return "hidden file (a name segment starts with '.'); dotfiles are never secrets in enclave";
  const problem = nameProblem(path);
  return problem ? `not a valid enclave secret name: ${problem}` : undefined;
}

/**
 * Turn the archive's regular files into named secrets: strip the top folder, skip TazPod's own
 * files, dotfiles, invalid names and empty files (each reported), let a later duplicate win.
 * Takes ownership of the file buffers: skipped ones are wiped.
 */
export function tarToSecrets(tar: TarContents, file = "the file"): TazpodContents {
  const topFolder = findTopFolder(tar);
  const skipped = [...tar.skipped];
  const byName = new Map<string, TazpodSecret>();
  for (const f of tar.files) {
    const name = topFolder ? f.path.slice(topFolder.length + 1) : f.path;
    const problem =
      name === "" ? "a file in place of the top folder" : (pathProblem(name) ?? emptyProblem(f.value));
    if (problem) {
      skipped.push({ entry: f.entry, reason: problem });
      wipe(f.value);
      continue;
    }
    const earlier = byName.get(name);
    if (earlier) {
      skipped.push({ entry: earlier.entry, reason: "replaced by a later entry with the same name" });
      wipe(earlier.value);
    }
    byName.set(name, { entry: f.entry, name, value: f.value });
  }
  const secrets = [...byName.values()].sort((a, b) => compareNames(a.name, b.name));
  const index = new FolderIndex(secrets.map((s) => s.name));
  for (const s of secrets) {
    const other = index.clash(s.name);
    if (other) {
      for (const x of secrets) wipe(x.value);
      throw new TazpodFormatError(
        file,
        `it holds both "${s.name}" and "${other}" (a file cannot be a folder)`,
      );
    }
  }
  return { secrets, skipped, topFolder };
}

function emptyProblem(value: Buffer): string | undefined {
  return value.length === 0 ? "empty file; enclave does not store empty secrets" : undefined;
}

/**
 * Decrypt, decompress and read a TazPod vault into secrets and a report of skipped entries.
 * The passphrase is not kept or wiped (the caller owns it); the returned values are the caller's.
 */
export async function readTazpodVault(
  f: TazpodFile,
  passphrase: Buffer,
  opts: { file?: string; limits?: TazpodLimits } = {},
): Promise<TazpodContents> {
  const file = opts.file ?? "the file";
  const limits = opts.limits ?? DEFAULT_TAZPOD_LIMITS;
  const gz = await decryptTazpod(f, passphrase, file);
  let tarChunks: Buffer[] = [];
  try {
    tarChunks = await gunzipBounded(gz, limits.maxBytes, file);
    const tar = await readTar(tarChunks, { maxEntries: limits.maxEntries }).catch((e: unknown) => {
      if (e instanceof TarReadError)
        throw new TazpodFormatError(file, `the content is not a usable tar archive (${e.message})`);
      throw e;
    });
    return tarToSecrets(tar, file);
  } finally {
    wipe(gz, ...tarChunks);
  }
}

function mib(n: number): string {
  return `${Math.round((n / 1048576) * 10) / 10} MiB`;
}
