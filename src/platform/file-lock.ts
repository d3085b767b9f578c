/**
 * A lock shared by enclave processes: a lock directory (mkdir-based, so it also works over NFS)
 * made by proper-lockfile. The holder refreshes it every `updateMs`; a holder killed while
 * holding it frees it after `staleMs`. Each caller chooses its timings and says, in `busy`,
 * what is locked and what to do when the lock stays taken.
 */
import lockfile from "proper-lockfile";
import { EnclaveError } from "../errors.js";

export interface FileLockOptions {
  /** A lock not refreshed for this long is taken over. */
  staleMs: number;
  /** How often the holder refreshes the lock (proper-lockfile's default, staleMs / 2, when unset). */
  updateMs?: number;
  /** How long to wait for a held lock: proper-lockfile's (node-retry's) settings. */
  retries: { retries: number; factor?: number; minTimeout: number; maxTimeout: number };
  /**
   * Called when the lock was lost while held (taken over as stale). Unset: proper-lockfile's
   * default, which throws from a timer.
   */
  onCompromised?: (err: Error) => void;
  /**
   * For the error when the lock could not be taken: what is locked ("the vault") and what to do
   * (after "; ").
   */
  busy: { what: string; hint: string };
}

/** Run fn while holding the lock directory `lockPath`; release it afterwards, whatever happens. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T> | T,
  opts: FileLockOptions,
): Promise<T> {
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(lockPath, {
      lockfilePath: lockPath,
      realpath: false,
      stale: opts.staleMs,
      ...(opts.updateMs !== undefined ? { update: opts.updateMs } : {}),
      retries: opts.retries,
      ...(opts.onCompromised ? { onCompromised: opts.onCompromised } : {}),
    });
  } catch (e) {
    throw new EnclaveError(
      `${opts.busy.what} is busy (another enclave process holds ${lockPath}): ${(e as Error).message}; ${opts.busy.hint}`,
    );
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => undefined);
  }
}
