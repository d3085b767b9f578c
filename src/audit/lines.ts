/**
 * The audit file as lines, forwards (readers, verify, --follow) or backwards from the end (a
 * writer finding the record to chain onto). Both read in chunks: a log of millions of records
 * is never held whole.
 */
import { closeSync, openSync, readSync } from "node:fs";

const CHUNK = 1 << 20;
const BACK_CHUNK = 64 * 1024;

export interface Line {
  /** 1-based, counted from `from` (the file's line number when `from` is 0). */
  no: number;
  /** UTF-8 text without the newline. */
  text: string;
  /** False only for a last line that has no newline (a write still under way, or cut short). */
  terminated: boolean;
  /** Byte offset just past this line (and its newline). */
  end: number;
}

/** Lines from byte offset `from`; nothing for a missing file. */
export function* readLines(file: string, from = 0): Generator<Line> {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let pending: Buffer[] = [];
    let pos = from;
    let no = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, pos);
      if (n === 0) break;
      let i = 0;
      while (i < n) {
        const nl = chunk.indexOf(10, i);
        if (nl === -1 || nl >= n) {
          pending.push(Buffer.from(chunk.subarray(i, n)));
          break;
        }
        const piece = chunk.subarray(i, nl);
        const text = (pending.length ? Buffer.concat([...pending, piece]) : piece).toString("utf8");
        pending = [];
        yield { no: ++no, text, terminated: true, end: pos + nl + 1 };
        i = nl + 1;
      }
      pos += n;
    }
    if (pending.length)
      yield { no: ++no, text: Buffer.concat(pending).toString("utf8"), terminated: false, end: pos };
  } finally {
    closeSync(fd);
  }
}

export interface BackLine {
  bytes: Buffer;
  /** Byte offset where the line starts. */
  start: number;
  terminated: boolean;
}

/**
 * The lines of the first `size` bytes of an open file, last first: an unterminated tail comes
 * first if there is one. Memory stays around one chunk plus the longest line.
 */
export function* linesBackward(fd: number, size: number): Generator<BackLine> {
  let buf = Buffer.alloc(0); // bytes [bufStart, bufStart + buf.length) of the file
  let bufStart = size;
  /** Offset of the last newline before `pos`, loading earlier chunks as needed; -1 if none. */
  const newlineBefore = (pos: number): number => {
    for (;;) {
      const idx = pos - bufStart - 1 >= 0 ? buf.lastIndexOf(10, pos - bufStart - 1) : -1;
      if (idx !== -1) return bufStart + idx;
      if (bufStart === 0) return -1;
      const from = Math.max(0, bufStart - BACK_CHUNK);
      const more = Buffer.allocUnsafe(bufStart - from);
      let got = 0;
      while (got < more.length) {
        const n = readSync(fd, more, got, more.length - got, from + got);
        if (n === 0) throw new Error("the audit file shrank while it was being read");
        got += n;
      }
      // Keep only what is still to be yielded (everything before pos).
      buf = Buffer.concat([more, buf.subarray(0, pos - bufStart)]);
      bufStart = from;
    }
  };
  const slice = (start: number, end: number): Buffer =>
    Buffer.from(buf.subarray(start - bufStart, end - bufStart));

  let cursor = size; // everything before cursor is still to be yielded
  const lastNl = newlineBefore(cursor);
  if (lastNl + 1 < size) {
    yield { bytes: slice(lastNl + 1, size), start: lastNl + 1, terminated: false };
  }
  cursor = lastNl + 1;
  while (cursor > 0) {
    const nl = newlineBefore(cursor - 1);
    yield { bytes: slice(nl + 1, cursor - 1), start: nl + 1, terminated: true };
    cursor = nl + 1;
  }
}
