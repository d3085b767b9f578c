/**
 * Appends events to the hash-chained audit log. `append()` is on the proxy's hot path, so it only
 * timestamps and serialises the event into memory; batches go to disk every `flushMs` (or at
 * once when `maxBatch` events wait), under a cross-process lock, one write and one fsync each.
 * seq and prev are assigned inside the lock, because other runs append to the same file.
 */
import { closeSync, existsSync, fchmodSync, fstatSync, fsyncSync, ftruncateSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { fsyncDir, writeAll } from "../platform/atomic-write.js";
import type { AuditEvent, RepairEvent } from "./events.js";
import { withAuditLock } from "./lock.js";
import { encodeRecord, eventJson } from "./record.js";
import { readChainTail } from "./tail.js";

export interface AuditWriterOptions {
  /** Longest time an appended event waits in memory (default 150 ms). */
  flushMs?: number;
  /** Flush at once when this many events wait (default 1000). */
  maxBatch?: number;
  /** Clock for `ts` (ms since the epoch); tests pin it. */
  now?: () => number;
  /**
   * A background flush failed (busy lock, full disk…). Its events stay queued and are retried
   * with backoff; flush() and close() reject with the error if it persists.
   */
  onError?: (e: Error) => void;
}

interface Queued {
  ts: string;
  json: string;
}

/** What this writer left at the end of the file, to skip re-reading the tail if nobody else wrote. */
interface KnownTail {
  ino: number;
  size: number;
  mtimeMs: number;
  seq: number;
  hash: string;
}

const MAX_RETRY_MS = 5_000;

export class AuditWriter {
  private readonly flushMs: number;
  private readonly maxBatch: number;
  private readonly now: () => number;
  private readonly onError: (e: Error) => void;
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerUrgent = false;
  /** Flushes run one after another; each takes whatever is queued when it starts. */
  private flushing: Promise<void> = Promise.resolve();
  private known: KnownTail | null = null;
  private retryMs = 0;
  private closed = false;

  constructor(
    readonly file: string,
    opts: AuditWriterOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 150;
    this.maxBatch = opts.maxBatch ?? 1000;
    this.now = opts.now ?? Date.now;
    this.onError = opts.onError ?? (() => undefined);
  }

  /** Queue one event. Synchronous and cheap; throws only after close() (a caller's bug). */
  append(e: AuditEvent): void {
    if (this.closed) throw new Error(`audit writer for ${this.file} is closed; the event was not recorded`);
    this.queue.push({ ts: new Date(this.now()).toISOString(), json: eventJson(e) });
    this.schedule(this.queue.length >= this.maxBatch && this.retryMs === 0 ? 0 : this.flushMs);
  }

  /** Resolves once every event appended before the call is on disk (fsynced). */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.writeQueued());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /** Flush and stop. Rejects (keeping the events) if they cannot be written. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    if (this.timer && (delay > 0 || this.timerUrgent)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerUrgent = delay === 0;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush().catch((e: Error) => this.onError(e));
    }, delay);
    // The writer never keeps a process alive: whoever owns it calls close() before exiting.
    this.timer.unref();
  }

  private async writeQueued(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    try {
      await withAuditLock(this.file, () => this.writeBatch(batch));
      this.retryMs = 0;
    } catch (e) {
      this.queue = batch.concat(this.queue);
      this.known = null;
      this.retryMs = Math.min(MAX_RETRY_MS, Math.max(this.flushMs, this.retryMs * 2));
      this.schedule(this.retryMs);
      throw e;
    }
    if (this.queue.length > 0) this.schedule(this.queue.length >= this.maxBatch ? 0 : this.flushMs);
  }

  /** Inside the lock: continue the chain from the file's tail with one write and one fsync. */
  private writeBatch(batch: Queued[]): void {
    const created = !existsSync(this.file);
    const fd = openSync(this.file, "a+", 0o600);
    try {
      const st = fstatSync(fd);
      // The log names hosts, paths and grants: private, whatever made the file.
      if ((st.mode & 0o077) !== 0) fchmodSync(fd, 0o600);
      let lines = "";
      let { seq, hash } = this.knownTail(st) ?? { seq: -1, hash: "" };
      if (seq === -1) {
        // Another writer appended since (or this is the first batch): find the tail again.
        const tail = readChainTail(fd, st.size, this.file);
        ({ seq, hash } = tail);
        if (tail.torn?.keep) lines = "\n";
        else if (tail.torn) {
          // Unacknowledged remains of an interrupted write: cut them, and say so in the chain.
          ftruncateSync(fd, tail.torn.offset);
          const repair: RepairEvent = {
            type: "audit.repair",
            droppedBytes: tail.torn.length,
            droppedSha256: tail.torn.sha256,
          };
          const r = encodeRecord(++seq, new Date(this.now()).toISOString(), hash, eventJson(repair));
          lines += r.line;
          hash = r.hash;
        }
      }
      for (const q of batch) {
        const r = encodeRecord(++seq, q.ts, hash, q.json);
        lines += r.line;
        hash = r.hash;
      }
      const sizeBefore = fstatSync(fd).size;
      const data = Buffer.from(lines, "utf8");
      try {
        writeAll(fd, data);
        fsyncSync(fd);
      } catch (e) {
        // Leave no partial batch behind: the events are retried whole.
        ftruncateSync(fd, sizeBefore);
        throw e;
      }
      const after = fstatSync(fd);
      this.known = { ino: after.ino, size: after.size, mtimeMs: after.mtimeMs, seq, hash };
    } catch (e) {
      this.known = null;
      throw e;
    } finally {
      closeSync(fd);
    }
    if (created) fsyncDir(dirname(this.file));
  }

  /** This writer's own last record, if the file is exactly as it left it. */
  private knownTail(st: { ino: number; size: number; mtimeMs: number }): KnownTail | null {
    const k = this.known;
    return k && k.ino === st.ino && k.size === st.size && k.mtimeMs === st.mtimeMs ? k : null;
  }
}
