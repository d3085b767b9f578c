/**
 * Line positions in a text, for findings: where each line starts, and which line an offset is on.
 * The same for a file's bytes and for its text decoded one character per byte (latin1), whose
 * offsets are the bytes'.
 */

/** Offsets at which each line starts: 0, then one past each LF. */
export function lineStarts(text: string | Buffer): number[] {
  const starts = [0];
  if (typeof text === "string")
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  else for (let i = text.indexOf(0x0a); i >= 0; i = text.indexOf(0x0a, i + 1)) starts.push(i + 1);
  return starts;
}

/** 0-based index of the line holding `offset`, given the line starts (binary search). */
export function lineIndex(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
