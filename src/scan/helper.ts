/**
 * The scan's helper thread, as the main thread sees it: a second thread that joins a working-tree
 * scan expected to take long, taking batches of files from the same counter as the main thread.
 * The thread's own code is worker.ts.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { FileOutcome } from "./content.js";

// node:worker_threads is loaded only when a helper starts: most scans never start one, and every
// scan would pay its loading (~2 ms) at start-up.
const require = createRequire(import.meta.url);

/** The main thread's estimate of the rest of the scan, above which a helper joins. */
const HELPER_WORTH_MS = 250;
/**
 * When the main thread judges its rate: from its first batch done `fromMs` into the scan (its first
 * files are slower, while its code is compiled, and would make any scan look long), over at least
 * `forMs` and two batches.
 */
export const RATE_WINDOW = { fromMs: 40, forMs: 20, batches: 2 } as const;

/**
 * Whether a helper is worth it, for a main thread that scans `filesPerMs` (after warming up) and has
 * `left` files to go. A helper takes ~50 ms to start and, on a 2-core machine, slows the main thread
 * while it compiles its own code, so it pays only on a long scan. Measured on such a machine: on a
 * 75 MB tree (0.13 s of scanning) a helper from the start made the scan ~10 ms slower; on a 300 MB
 * tree, one joining by this rule made it 11% faster (0.48 s against 0.54 s, medians of 9).
 */
export function worthAHelper(filesPerMs: number, left: number): boolean {
  return filesPerMs > 0 && left / filesPerMs >= HELPER_WORTH_MS;
}

/** workerData */
export interface HelperSetup {
  /** Marks the thread as this helper. */
  enclaveScanHelper: true;
  /** Int32Array: [0] next file index to take, [1] state (see STATE), [2] files done */
  control: SharedArrayBuffer;
  /** BigInt64Array: [0] bytes scanned */
  bytes: SharedArrayBuffer;
}

/** The one message to the helper: the files (relative to root). */
export type HelperTask = { root: string; max: number; files: string[] };

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
 * (control[0]), a batch at a time, until none is left, and calls `each` with each one, then
 * `between` (if given) after each batch.
 */
export function forEachTaken(
  control: Int32Array,
  count: number,
  each: (i: number) => void,
  between?: () => void,
): void {
  for (let first = Atomics.add(control, 0, BATCH); first < count; first = Atomics.add(control, 0, BATCH)) {
    for (let i = first; i < Math.min(first + BATCH, count); i++) each(i);
    between?.();
  }
}

/** The counters the threads share: control (see HelperSetup) and the bytes scanned. */
export function sharedCounters(): { control: Int32Array; bytes: BigInt64Array } {
  return {
    control: new Int32Array(new SharedArrayBuffer(12)),
    bytes: new BigInt64Array(new SharedArrayBuffer(8)),
  };
}

/** A file scanned, in the shared counters (its bytes, one more file done): how many files are done. */
export function countScanned(control: Int32Array, bytes: BigInt64Array, outcome: FileOutcome): number {
  if (typeof outcome === "object") Atomics.add(bytes, 0, BigInt(outcome.bytes));
  return Atomics.add(control, 2, 1) + 1;
}

export interface Helper {
  /** What it scanned (by index), once it is done. */
  reply: Promise<HelperReply>;
  /** The main thread is done: stop it unless it has started taking files. True if it had not. */
  cancel(): boolean;
}

/** A second thread can run at the same time as this one. */
export function helperPossible(): boolean {
  return availableParallelism() > 1;
}

/** A helper thread sharing `counters`, starting now on `task`; undefined if it cannot be created. */
export function startHelper(
  { control, bytes }: ReturnType<typeof sharedCounters>,
  task: HelperTask,
): Helper | undefined {
  let worker: Worker;
  try {
    const { Worker } = require("node:worker_threads") as typeof import("node:worker_threads");
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
  worker.postMessage(task);
  return {
    reply,
    cancel() {
      const cancelled = Atomics.compareExchange(control, 1, STATE.waiting, STATE.cancelled) === STATE.waiting;
      if (cancelled) void worker.terminate();
      return cancelled;
    },
  };
}
