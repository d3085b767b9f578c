/**
 * `enclave audit --follow`: every record already in the file, then each new one as writers append
 * it, until the signal aborts. Polls (inotify misses writes on some filesystems, and a poll every
 * few hundred ms costs nothing next to a proxy's batches).
 */
import { statSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { AuditRecord } from "./events.js";
import { readLines } from "./lines.js";
import { type AuditFilter, matches } from "./reader.js";
import { decodeLine, shownRecord } from "./record.js";

export interface FollowOptions extends AuditFilter {
  signal: AbortSignal;
  intervalMs?: number;
  onRecord: (r: AuditRecord) => void;
  /** The file was replaced or shrank below what was read: reading starts over. */
  onRestart?: () => void;
}

export async function followAudit(file: string, o: FollowOptions): Promise<void> {
  let offset = 0;
  let ino: number | null = null;
  while (!o.signal.aborted) {
    let st: { ino: number; size: number } | null = null;
    try {
      st = statSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (st && ino !== null && (st.ino !== ino || st.size < offset)) {
      offset = 0;
      o.onRestart?.();
    }
    if (st) ino = st.ino;
    if (st && st.size > offset) {
      for (const l of readLines(file, offset)) {
        // A line without its newline may still be being written: read it next time.
        if (!l.terminated) break;
        offset = l.end;
        const r = shownRecord(decodeLine(l.text));
        if (r && matches(r, o)) o.onRecord(r);
      }
    }
    await sleep(o.intervalMs ?? 200, undefined, { signal: o.signal }).catch(() => undefined);
  }
}
