/**
 * The expiry reaper: a small detached process started by `unlock` that wipes the session when its
 * TTL ends, so secrets do not sit in RAM until someone happens to run another enclave command.
 * It holds no key while it waits: it only reads the session's expiry time, and at that time runs
 * the same expiry path every command runs (save pending edits, then wipe).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { VaultService } from "./service.js";

/** Re-read the session at least this often, so a `lock` or a re-`unlock` is noticed. */
const MAX_NAP_MS = 10_000;
/** After a failed expiry (e.g. a damaged vault: pending edits cannot be saved), try again later. */
const RETRY_MS = 30_000;

export async function reapWhenExpired(svc: VaultService, now: () => number = Date.now): Promise<void> {
  for (;;) {
    const expiresAt = svc.sessionExpiry();
    if (!expiresAt) return; // locked, or another vault's session: nothing of ours to reap
    const wait = Date.parse(expiresAt) - now();
    if (wait > 0) {
      await sleep(Math.min(wait + 50, MAX_NAP_MS));
      continue;
    }
    try {
      await svc.expireIfDue();
    } catch {
      // Nothing is wiped when pending edits cannot be saved; the next command reports why.
      await sleep(RETRY_MS);
    }
  }
}
