/**
 * The scan's helper thread: takes files of a working tree from the same shared counter as the main
 * thread, a batch at a time, and scans them with its own detector. Started by helper.ts when a
 * scan turns out long (see worthAHelper), it compiles its detector, then takes files until none is
 * left — or does nothing if the main thread has already finished (and cancelled it).
 */
import { parentPort, workerData } from "node:worker_threads";
import { detectorFor, type FileOutcome, scanFile } from "./content.js";
import {
  countScanned,
  forEachTaken,
  type HelperReply,
  type HelperSetup,
  type HelperTask,
  STATE,
} from "./helper.js";
import { RULES } from "./rules.js";

if (parentPort && (workerData as HelperSetup | undefined)?.enclaveScanHelper === true) {
  const port = parentPort;
  const setup = workerData as HelperSetup;
  const control = new Int32Array(setup.control);
  const bytes = new BigInt64Array(setup.bytes);
  // Ready before the files are: the rules compiled, the finder's module compiled and instantiated.
  const detector = detectorFor(RULES);
  detector.buffer(0);
  port.once("message", (task: HelperTask) => {
    // Started only if the main thread has not finished (and cancelled) first.
    if (Atomics.compareExchange(control, 1, STATE.waiting, STATE.started) !== STATE.waiting) {
      port.close();
      return;
    }
    const outcomes: [number, FileOutcome][] = [];
    try {
      const { root, max, files } = task;
      forEachTaken(control, files.length, (i) => {
        const outcome = scanFile(detector, root, files[i]!, max, undefined);
        outcomes.push([i, outcome]);
        countScanned(control, bytes, outcome);
      });
      port.postMessage({ outcomes } satisfies HelperReply);
    } catch (e) {
      // The main thread scans again whatever has no outcome here.
      port.postMessage({ outcomes, error: (e as Error).message } satisfies HelperReply);
    }
    port.close();
  });
}
