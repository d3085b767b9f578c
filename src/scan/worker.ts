/**
 * The scan's helper thread: takes files of a working tree from the same shared counter as the main
 * thread, a batch at a time, and scans them with its own detector. Started by scanner.ts before
 * the file list exists (a thread takes a few tens of milliseconds to start); told the list, or
 * told nothing and ended when the main thread was done first.
 */
import { parentPort, workerData } from "node:worker_threads";
import { detectorFor, type FileOutcome, scanFile } from "./content.js";
import { RULES } from "./rules.js";

/** workerData */
export interface HelperSetup {
  /** Marks the thread as this helper (the module is also imported, for its types, by scanner.ts). */
  enclaveScanHelper: true;
  root: string;
  max: number;
  /** Int32Array: [0] next file index to take, [1] state (see STATE), [2] files done */
  control: SharedArrayBuffer;
  /** BigInt64Array: [0] bytes scanned */
  bytes: SharedArrayBuffer;
}

/** The first message: the files, or null when there is nothing to help with. */
export type HelperTask = { files: string[] } | null;

/** The reply: what became of each file it finished, by index, and why it stopped early, if it did. */
export interface HelperReply {
  outcomes: [number, FileOutcome][];
  error?: string;
}

export const STATE = { waiting: 0, started: 1, cancelled: 2 } as const;
/** Files taken at a time: few enough to share the tail of the list evenly. */
export const BATCH = 8;

if (parentPort && (workerData as HelperSetup | undefined)?.enclaveScanHelper === true) {
  const port = parentPort;
  const setup = workerData as HelperSetup;
  const control = new Int32Array(setup.control);
  const bytes = new BigInt64Array(setup.bytes);
  port.once("message", (task: HelperTask) => {
    // Started only if the main thread has not finished (and cancelled) first.
    if (
      task === null ||
      Atomics.compareExchange(control, 1, STATE.waiting, STATE.started) !== STATE.waiting
    ) {
      port.close();
      return;
    }
    const outcomes: [number, FileOutcome][] = [];
    try {
      const detector = detectorFor(RULES);
      const { files } = task;
      for (
        let first = Atomics.add(control, 0, BATCH);
        first < files.length;
        first = Atomics.add(control, 0, BATCH)
      )
        for (let i = first; i < Math.min(first + BATCH, files.length); i++) {
          const outcome = scanFile(detector, setup.root, files[i]!, setup.max, undefined);
          outcomes.push([i, outcome]);
          if (typeof outcome === "object") Atomics.add(bytes, 0, BigInt(outcome.bytes));
          Atomics.add(control, 2, 1);
        }
      port.postMessage({ outcomes } satisfies HelperReply);
    } catch (e) {
      // The main thread scans again whatever has no outcome here.
      port.postMessage({ outcomes, error: (e as Error).message } satisfies HelperReply);
    }
    port.close();
  });
}
