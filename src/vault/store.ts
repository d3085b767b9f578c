/**
 * The vault file on local disk: read, atomic replace, and the lock that serialises writers
 * (two `enclave set` in parallel must lose neither value).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { EnclavePaths } from "../config/paths.js";
import { EnclaveError, NotInitializedError } from "../errors.js";
import { atomicWriteFile, removeStaleTempFiles } from "../platform/atomic-write.js";
import { withFileLock } from "../platform/file-lock.js";
import { type ParsedContainer, parseContainer } from "./format.js";

/**
 * A writer killed while holding the lock frees it after this long. The holder refreshes the
 * lock every LOCK_UPDATE_MS, so a slow but live operation (a KDF, a 50 MB write) keeps it.
 */
const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;

export class VaultStore {
  constructor(readonly paths: EnclavePaths) {}

  exists(): boolean {
    return existsSync(this.paths.vaultFile);
  }

  /** Create ENCLAVE_HOME (0700) if needed. */
  ensureHome(): void {
    mkdirSync(this.paths.home, { recursive: true, mode: 0o700 });
  }

  read(): { bytes: Buffer; parsed: ParsedContainer } {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.paths.vaultFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new NotInitializedError(this.paths.home);
      throw new EnclaveError(`cannot read ${this.paths.vaultFile}: ${(e as Error).message}`);
    }
    return { bytes, parsed: parseContainer(bytes, this.paths.vaultFile) };
  }

  /** Replace the vault file atomically. Call only inside withLock(). */
  write(bytes: Buffer): void {
    removeStaleTempFiles(this.paths.vaultFile);
    atomicWriteFile(this.paths.vaultFile, bytes);
  }

  /** Run fn while holding the vault lock (waits for other enclave processes). */
  async withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    this.ensureHome();
    return withFileLock(this.paths.lockTarget, fn, {
      staleMs: LOCK_STALE_MS,
      updateMs: LOCK_UPDATE_MS,
      retries: { retries: 100, factor: 1.3, minTimeout: 10, maxTimeout: 250 },
      busy: {
        what: "the vault",
        hint: "try again, or remove that lock directory if no enclave process is running",
      },
    });
  }
}
