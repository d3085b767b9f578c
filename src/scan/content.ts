/**
 * One file or blob: read it (into the detector's memory), tell binary from text, run the rules and
 * the vault's known values over it, and turn raw matches into findings for a path. Shared by the
 * scan's main thread and its helper thread (worker.ts).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { sep } from "node:path";
import { ALLOW_MARKER, Detector, type RawFinding } from "./detect.js";
import { type Finding, fingerprint, redact } from "./findings.js";
import type { KnownMatcher } from "./known.js";
import { lineIndex, lineStarts } from "./lines.js";
import { RULES, type Rule } from "./rules.js";

/** Git's own heuristic: a NUL byte in the first 8,000 bytes means binary. */
export function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

/** 1-based line and byte column of `offset`. */
function positionOf(starts: number[], offset: number): { line: number; column: number } {
  const index = lineIndex(starts, offset);
  return { line: index + 1, column: offset - starts[index]! + 1 };
}

const detectors = new WeakMap<Rule[], Detector>();

export function detectorFor(rules: Rule[]): Detector {
  let d = detectors.get(rules);
  if (!d) {
    d = new Detector(rules);
    detectors.set(rules, d);
  }
  return d;
}

/** Findings in one piece of content (a file or a blob), with `path` for the report. */
export function scanContent(
  content: Buffer,
  path: string,
  opts: { known?: KnownMatcher; rules?: Rule[] },
): Finding[] {
  const raw = detectorFor(opts.rules ?? RULES).detectIn(content);
  return findingsIn(content, raw, opts.known?.findIn(content) ?? [], path);
}

/**
 * Findings for `path` from the rules' raw findings in `content` and the vault values found there.
 * A vault value that also fits a rule is reported once, by name: the rule's redacted hint would
 * show part of a value that --known promises never to show.
 */
export function findingsIn(
  content: Buffer,
  raw: RawFinding[],
  matches: ReturnType<KnownMatcher["findIn"]>,
  path: string,
): Finding[] {
  if (raw.length === 0 && matches.length === 0) return [];
  const starts = lineStarts(content);
  const rawColumns = new Utf16Columns(content, starts);
  const knownColumns = new Utf16Columns(content, starts);
  const findings: Finding[] = [];
  for (const f of raw) {
    if (matches.length > 0) {
      const at = starts[f.line - 1]! + f.column - 1;
      if (matches.some((m) => at < m.offset + m.length && m.offset < at + f.secret.length)) continue;
    }
    findings.push({
      ruleId: f.ruleId,
      path,
      line: f.line,
      column: rawColumns.at(f.line, f.column),
      redacted: redact(f.secret),
      fingerprint: fingerprint(f.ruleId, f.secret, path),
    });
  }
  const allowed = new Map<number, boolean>();
  for (const m of matches) {
    const { line, column } = positionOf(starts, m.offset);
    let allow = allowed.get(line);
    if (allow === undefined) {
      allow = content.subarray(starts[line - 1]!, starts[line] ?? content.length).includes(ALLOW_MARKER);
      allowed.set(line, allow);
    }
    if (allow) continue;
    findings.push({
      ruleId: "known-secret",
      path,
      line,
      column: knownColumns.at(line, column),
      redacted: "",
      fingerprint: fingerprint("known-secret", `${m.name}\0${m.encoding}`, path),
      secretName: m.name,
      encoding: m.encoding,
    });
  }
  return findings;
}

type Read = { bytes: number } | "not a file" | "large" | "unreadable";

/** Bytes read before asking a file's size: most source files are smaller, and need no fstat. */
const FIRST_READ = 1 << 20;

/**
 * Read a regular file of at most `max` bytes into the detector's buffer: open (non-blocking, so a
 * FIFO cannot hang the scan), one read, close. Only a file that fills the first read, reads as
 * empty or fails to read is fstat'ed: to know its size, or that it is not a regular file.
 */
function readFile(detector: Detector, abs: string, max: number): Read {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return "unreadable";
  }
  try {
    const first = Math.min(max + 1, FIRST_READ);
    let n = readSync(fd, detector.buffer(first), 0, first, 0);
    if (n > 0 && n < first) return { bytes: n };
    const st = fstatSync(fd);
    if (!st.isFile()) return "not a file"; // a special file, or a folder (a submodule)
    if (st.size > max) return "large";
    // Longer than the first read: the rest (the buffer keeps what is in it when it grows).
    const buf = detector.buffer(st.size);
    while (n < st.size) {
      const got = readSync(fd, buf, n, st.size - n, n);
      if (got === 0) break; // truncated since the fstat
      n += got;
    }
    return { bytes: n };
  } catch {
    try {
      if (!fstatSync(fd).isFile()) return "not a file"; // reading a folder: EISDIR
    } catch {}
    return "unreadable";
  } finally {
    closeSync(fd);
  }
}

/**
 * Columns in UTF-16 units of the UTF-8 text (SARIF's default), not bytes. Asked in increasing
 * order along a line, it decodes only what lies between one column and the next, not the line
 * from its start each time (many findings on one long minified line were quadratic).
 */
class Utf16Columns {
  private line = -1;
  private byte = 0;
  private units = 0;

  constructor(
    private readonly content: Buffer,
    private readonly starts: number[],
  ) {}

  /** The 1-based UTF-16 column of 1-based byte column `byteColumn` on 1-based `line`. */
  at(line: number, byteColumn: number): number {
    const start = this.starts[line - 1]!;
    const to = start + byteColumn - 1;
    // Go on from the last column only on the same line, forwards, from a character boundary
    // (not a UTF-8 continuation byte), where decoding in two pieces counts as decoding in one.
    if (line !== this.line || to < this.byte || (this.content[this.byte]! & 0xc0) === 0x80) {
      this.line = line;
      this.byte = start;
      this.units = 0;
    }
    this.units += this.content.toString("utf8", this.byte, to).length;
    this.byte = to;
    return this.units + 1;
  }
}

/** What became of one file of a working tree. */
export type FileOutcome =
  | { bytes: number; findings: Finding[] }
  | "binary"
  | "large"
  | "unreadable"
  | "not a file";

/** Read and scan `rel` under `root`: findings named by `rel`. */
export function scanFile(
  detector: Detector,
  root: string,
  rel: string,
  max: number,
  known: KnownMatcher | undefined,
): FileOutcome {
  const read = readFile(detector, `${root}${sep}${rel}`, max);
  if (typeof read === "string") return read;
  const content = detector.buffer(read.bytes);
  if (isBinary(content)) return "binary";
  const raw = detector.detect(read.bytes);
  return { bytes: read.bytes, findings: findingsIn(content, raw, known?.findIn(content) ?? [], rel) };
}
