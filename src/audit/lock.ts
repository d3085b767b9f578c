/**
 * The lock that serialises appends to one audit file across processes (every `enclave run` has
 * its own writer). Held for one batch: find the tail, write, fsync — milliseconds.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { withFileLock } from "../platform/file-lock.js";

/** A holder killed mid-batch frees the lock after this long; a live one refreshes it. */
const LOCK_STALE_MS = 5_000;
const LOCK_UPDATE_MS = 1_000;

export async function withAuditLock<T>(file: string, fn: () => T): Promise<T> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  return withFileLock(`${file}.lock`, fn, {
    staleMs: LOCK_STALE_MS,
    updateMs: LOCK_UPDATE_MS,
    // Up to ~13 s: many runs flushing at once each hold the lock for milliseconds.
    retries: { retries: 150, factor: 1.1, minTimeout: 5, maxTimeout: 100 },
    // The default throws from a timer and would kill the whole run (proxy included). A batch
    // holds the lock for milliseconds; if another writer ever took it over as stale, the two
    // appends still land as whole lines (O_APPEND) and verify reports the fork.
    onCompromised: () => undefined,
    busy: {
      what: "the audit log",
      hint: "records are kept in memory and retried; remove that lock directory if no enclave process is running",
    },
  });
}
