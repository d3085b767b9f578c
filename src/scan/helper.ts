/**
 * The scan's helper thread, as the main thread sees it: started early (before the file list, the
 * rules or the detector exist: a thread takes a few tens of milliseconds to start), handed the
 * files once they are listed, or ended unused. Imports nothing heavy: `enclave scan` starts it
 * before loading the scanner. The thread's own code is worker.ts.
 */
import { availableParallelism, loadavg } from "node:os";
import { Worker } from "node:worker_threads";
import type { FileOutcome } from "./content.js";

/** workerData */
export interface HelperSetup {
  /** Marks the thread as this helper. */
  enclaveScanHelper: true;
  /** Int32Array: [0] next file index to take, [1] state (see STATE), [2] files done */
  control: SharedArrayBuffer;
  /** BigInt64Array: [0] bytes scanned */
  bytes: SharedArrayBuffer;
}

/** The first message: the files (relative to root), or null when there is nothing to help with. */
export type HelperTask = { root: string; max: number; files: string[] } | null;

/** The reply: what became of each file it finished, by index, and why it stopped early, if it did. */
export interface HelperReply {
  outcomes: [number, FileOutcome][];
  error?: string;
}

export const STATE = { waiting: 0, started: 1, cancelled: 2 } as const;
/** Files taken at a time: few enough to share the tail of the list evenly. */
const BATCH = 8;

/**
 * The loop both threads run: takes file indexes below `count` from the shared counter
 * (control[0]), a batch at a time, until none is left, and calls `each` with each one.
 */
export function forEachTaken(control: Int32Array, count: number, each: (i: number) => void): void {
  for (let first = Atomics.add(control, 0, BATCH); first < count; first = Atomics.add(control, 0, BATCH))
    for (let i = first; i < Math.min(first + BATCH, count); i++) each(i);
}

/** A file scanned, in the shared counters (its bytes, one more file done): how many files are done. */
export function countScanned(control: Int32Array, bytes: BigInt64Array, outcome: FileOutcome): number {
  if (typeof outcome === "object") Atomics.add(bytes, 0, BigInt(outcome.bytes));
  return Atomics.add(control, 2, 1) + 1;
}

export interface Helper {
  /** Give it the files; resolves to what it scanned (by index), once it is done. */
  help(task: { root: string; max: number; files: string[] }): Promise<HelperReply>;
  /** The main thread is done: stop it unless it has started taking files. True if it had not. */
  cancel(): boolean;
  control: Int32Array;
  bytes: BigInt64Array;
}

/**
 * Whether to use a helper — true: whenever there is more than one CPU; undefined: only when two
 * CPUs are idle (on a busy machine a second thread costs more than it brings); false: never.
 */
export function wantHelper(parallel: boolean | undefined): boolean {
  const cpus = availableParallelism();
  if (parallel === undefined) return cpus - loadavg()[0]! >= 2;
  return parallel && cpus > 1;
}

/** A helper thread, starting now; undefined if it cannot be created. */
export function startHelper(): Helper | undefined {
  const control = new Int32Array(new SharedArrayBuffer(12));
  const bytes = new BigInt64Array(new SharedArrayBuffer(8));
  let worker: Worker;
  try {
    worker = new Worker(new URL("./worker.js", import.meta.url), {
      workerData: {
        enclaveScanHelper: true,
        control: control.buffer as SharedArrayBuffer,
        bytes: bytes.buffer as SharedArrayBuffer,
      } satisfies HelperSetup,
    });
  } catch {
    return undefined;
  }
  worker.unref();
  // A helper that fails says nothing useful: its files are scanned again by the main thread.
  const reply = new Promise<HelperReply>((resolve) => {
    worker.once("message", (r: HelperReply) => resolve(r));
    worker.once("error", (e) => resolve({ outcomes: [], error: e.message }));
    worker.once("exit", () => resolve({ outcomes: [], error: "exited" }));
  });
  return {
    control,
    bytes,
    help(task) {
      worker.postMessage(task satisfies HelperTask);
      return reply;
    },
    cancel() {
      const cancelled = Atomics.compareExchange(control, 1, STATE.waiting, STATE.cancelled) === STATE.waiting;
      if (cancelled) void worker.terminate();
      return cancelled;
    },
  };
}

let early: Helper | undefined;

/**
 * For a working-tree scan with the built-in rules and no vault values: start the helper now, if
 * `parallel` (see wantHelper) wants one, for the next scan() to take.
 */
export function prestartHelper(parallel?: boolean): void {
  if (!early && wantHelper(parallel)) early = startHelper();
}

/** The helper prestartHelper() started, if any (taken: a second call returns undefined). */
export function takeEarlyHelper(): Helper | undefined {
  const h = early;
  early = undefined;
  return h;
}
