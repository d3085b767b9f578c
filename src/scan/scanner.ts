/**
 * The scan itself: a working tree or every blob in a git history, pattern rules plus (optionally)
 * the unlocked vault's own values. Binary and oversized content is skipped; inline
 * `enclave:allow` comments and baseline fingerprints suppress exactly what they name.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { UsageError } from "../errors.js";
import { Detector, type RawFinding } from "./detect.js";
import { type Finding, fingerprint, redact } from "./findings.js";
import { blobOrigins, blobSizes, isGitRepo, listGitFiles, readBlobs } from "./git.js";
import type { KnownMatcher } from "./known.js";
import { RULES, type Rule } from "./rules.js";

export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;
const ALLOW_MARK = "enclave:allow";

export interface ScanOptions {
  /** The folder to scan (a git work tree for --history). */
  root: string;
  /** Scan every blob ever committed on all refs instead of the working tree. */
  history?: boolean;
  known?: KnownMatcher;
  rules?: Rule[];
  maxFileBytes?: number;
  /** gitignore-style patterns of paths to leave out (config `scan.exclude`). */
  exclude?: string[];
  /** Fingerprints accepted earlier: findings with these are suppressed. */
  baseline?: Set<string>;
  onProgress?: (p: ScanProgress) => void;
}

export interface ScanProgress {
  done: number;
  total: number;
  bytes: number;
  unit: "files" | "blobs";
}

export interface ScanResult {
  findings: Finding[];
  /** Findings a baseline accepted (kept so a rewritten baseline still holds them). */
  suppressed: Finding[];
  stats: {
    mode: "tree" | "history";
    scanned: number;
    bytes: number;
    skippedBinary: number;
    skippedLarge: number;
    skippedUnreadable: number;
    suppressedByBaseline: number;
    ms: number;
  };
}

/** Git's own heuristic: a NUL byte in the first 8,000 bytes means binary. */
function isBinary(buf: Buffer): boolean {
  return buf.subarray(0, 8000).includes(0);
}

function lineStarts(buf: Buffer): number[] {
  const starts = [0];
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) starts.push(i + 1);
  return starts;
}

function positionOf(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

const detectors = new WeakMap<Rule[], Detector>();

function detectorFor(rules: Rule[]): Detector {
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
  opts: Pick<ScanOptions, "known" | "rules">,
): Finding[] {
  const raw = detectorFor(opts.rules ?? RULES).detectIn(content);
  return findingsIn(content, raw, opts.known?.findIn(content) ?? [], path);
}

/**
 * Findings for `path` from the rules' raw findings in `content` and the vault values found there.
 * A vault value that also fits a rule is reported once, by name: the rule's redacted hint would
 * show part of a value that --known promises never to show.
 */
function findingsIn(
  content: Buffer,
  raw: RawFinding[],
  matches: ReturnType<KnownMatcher["findIn"]>,
  path: string,
): Finding[] {
  if (raw.length === 0 && matches.length === 0) return [];
  const starts = lineStarts(content);
  /** Columns are reported in UTF-16 units of the UTF-8 text (SARIF's default), not bytes. */
  const utf16Column = (line: number, byteColumn: number) =>
    content.toString("utf8", starts[line - 1]!, starts[line - 1]! + byteColumn - 1).length + 1;
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
      column: utf16Column(f.line, f.column),
      redacted: redact(f.secret),
      fingerprint: fingerprint(f.ruleId, f.secret, path),
    });
  }
  for (const m of matches) {
    const { line, column } = positionOf(starts, m.offset);
    const lineText = content.toString("latin1", starts[line - 1]!, starts[line] ?? content.length);
    if (lineText.includes(ALLOW_MARK)) continue;
    findings.push({
      ruleId: "known-secret",
      path,
      line,
      column: utf16Column(line, column),
      redacted: "",
      fingerprint: fingerprint("known-secret", `${m.name}\0${m.encoding}`, path),
      secretName: m.name,
      encoding: m.encoding,
    });
  }
  return findings;
}

type Read = { bytes: number } | "not a file" | "large" | "unreadable";

/**
 * Read a regular file of at most `max` bytes into the detector's buffer: open (non-blocking, so a
 * FIFO cannot hang the scan), fstat, read, close — no other allocation or copy.
 */
function readFile(detector: Detector, abs: string, max: number): Read {
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return "unreadable";
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return "not a file"; // deleted but still in the index, or a special file
    if (st.size > max) return "large";
    const buf = detector.buffer(st.size);
    let n = 0;
    while (n < st.size) {
      const got = readSync(fd, buf, n, st.size - n, n);
      if (got === 0) break; // truncated since the fstat
      n += got;
    }
    return { bytes: n };
  } catch {
    return "unreadable";
  } finally {
    closeSync(fd);
  }
}

function walkFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      if (ent.name === ".git") continue;
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) out.push(relative(root, p).split(sep).join("/"));
    }
  };
  walk(root);
  return out;
}

/** A test for excluded paths (gitignore syntax), or undefined when nothing is excluded. */
async function exclusions(patterns: string[] | undefined): Promise<((path: string) => boolean) | undefined> {
  if (!patterns || patterns.length === 0) return undefined;
  const { default: ignore } = await import("ignore");
  const ig = ignore().add(patterns);
  return (p) => ig.ignores(p);
}

export async function scan(opts: ScanOptions): Promise<ScanResult> {
  const started = performance.now();
  const max = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const result: ScanResult = {
    findings: [],
    suppressed: [],
    stats: {
      mode: opts.history ? "history" : "tree",
      scanned: 0,
      bytes: 0,
      skippedBinary: 0,
      skippedLarge: 0,
      skippedUnreadable: 0,
      suppressedByBaseline: 0,
      ms: 0,
    },
  };
  const keep = (f: Finding) => {
    if (opts.baseline?.has(f.fingerprint)) {
      result.stats.suppressedByBaseline++;
      result.suppressed.push(f);
    } else result.findings.push(f);
  };
  const detector = detectorFor(opts.rules ?? RULES);
  const consider = (content: Buffer): boolean => {
    if (isBinary(content)) {
      result.stats.skippedBinary++;
      return false;
    }
    result.stats.scanned++;
    result.stats.bytes += content.length;
    return true;
  };

  if (opts.history) {
    if (!isGitRepo(opts.root))
      throw new UsageError(`--history needs a git repository, and ${opts.root} is not in one`);
    const ignore = await exclusions(opts.exclude);
    const excluded = (p: string) => ignore?.(p) ?? false;
    const origins = blobOrigins(opts.root);
    const sizes = blobSizes(opts.root, [...origins.keys()]);
    const wanted = [...origins.keys()].filter((sha) => {
      // Left out only when every path it was committed under is excluded.
      if ([...origins.get(sha)!.paths].every(excluded)) return false;
      if ((sizes.get(sha) ?? 0) > max) {
        result.stats.skippedLarge++;
        return false;
      }
      return true;
    });
    let done = 0;
    await readBlobs(opts.root, wanted, (sha, content) => {
      done++;
      if (consider(content)) {
        const o = origins.get(sha)!;
        const raw = detector.detectIn(content);
        const matches = opts.known?.findIn(content) ?? [];
        // Every path the blob was committed under (and not excluded) is named: a copy of a
        // secret in another file is another leak.
        for (const path of [...o.paths].filter((p) => !excluded(p)))
          for (const f of findingsIn(content, raw, matches, path))
            keep({ ...f, commit: o.commit, author: o.author, date: o.date });
      }
      opts.onProgress?.({ done, total: wanted.length, bytes: result.stats.bytes, unit: "blobs" });
    });
  } else {
    const ignore = await exclusions(opts.exclude);
    const files = listGitFiles(opts.root) ?? walkFiles(opts.root);
    const wanted = ignore ? files.filter((p) => !ignore(p)) : files;
    let done = 0;
    for (const rel of wanted) {
      done++;
      const read = readFile(detector, join(opts.root, rel), max);
      if (read === "large") result.stats.skippedLarge++;
      else if (read === "unreadable")
        result.stats.skippedUnreadable++; // never fatal
      else if (read !== "not a file") {
        const content = detector.buffer(read.bytes);
        if (consider(content)) {
          const raw = detector.detect(read.bytes);
          for (const f of findingsIn(content, raw, opts.known?.findIn(content) ?? [], rel)) keep(f);
        }
      }
      opts.onProgress?.({ done, total: wanted.length, bytes: result.stats.bytes, unit: "files" });
    }
  }
  result.findings.sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line || a.column - b.column);
  result.stats.ms = performance.now() - started;
  return result;
}
