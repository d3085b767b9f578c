/** Timing and summary statistics for the benchmarks. All durations are in milliseconds. */
import { performance } from "node:perf_hooks";

export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

/** Run fn once and return how long it took, with its result. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; result: T }> {
  const start = performance.now();
  const result = await fn();
  return { ms: performance.now() - start, result };
}

/**
 * One untimed warm-up run (lazy loading, first-touch allocation, cold page cache), then `reps`
 * timed ones. `run` returns its own duration, so it can leave out set-up it does not want timed.
 */
export async function sampleRuns(reps: number, run: () => Promise<number>): Promise<Stats> {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) samples.push(await run());
  return summarize(samples);
}

/** Median, not mean: one slow outlier (GC, page-cache miss) should not move the headline. */
export function summarize(samples: number[]): Stats {
  if (samples.length === 0) throw new Error("no samples to summarize");
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, n: sorted.length, samples: samples.map(round) };
}

/** Round to 0.1 ms: finer digits are noise and only clutter the JSON. */
export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}

/** "median (min–max)", the cell format of every timing table. */
export function formatStats(s: Stats): string {
  return `${formatMs(s.median)} (${formatMs(s.min)}–${formatMs(s.max)})`;
}
