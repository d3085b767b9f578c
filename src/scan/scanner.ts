/**
 * The scan itself: a working tree or every blob in a git history, pattern rules plus (optionally)
 * the unlocked vault's own values. Binary and oversized content is skipped; inline
 * `enclave:allow` comments and baseline fingerprints suppress exactly what they name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import ignore from "ignore";
import { UsageError } from "../errors.js";
import { detectInText } from "./detect.js";
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

/** Findings in one piece of content (a file or a blob), with `path` for the report. */
export function scanContent(
  content: Buffer,
  path: string,
  opts: Pick<ScanOptions, "known" | "rules">,
): Finding[] {
  // latin1 keeps one character per byte, so byte offsets (known secrets) and string offsets agree.
  const text = content.toString("latin1");
  const matches = opts.known?.findIn(content) ?? [];
  const raw = detectInText(text, opts.rules ?? RULES);
  const starts = matches.length > 0 || raw.length > 0 ? lineStarts(content) : [];
  /** Columns are reported in UTF-16 units of the UTF-8 text (SARIF's default), not bytes. */
  const utf16Column = (line: number, byteColumn: number) =>
    content.toString("utf8", starts[line - 1]!, starts[line - 1]! + byteColumn - 1).length + 1;
  const findings: Finding[] = [];
  for (const f of raw) {
    // A vault value that also fits a rule is reported once, by name: the rule's redacted hint
    // would show part of a value that --known promises never to show.
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
    const lineText = text.slice(starts[line - 1]!, starts[line] ?? text.length);
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

export async function scan(opts: ScanOptions): Promise<ScanResult> {
  const started = performance.now();
  const max = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const excluded = ignore().add(opts.exclude ?? []);
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
    const origins = blobOrigins(opts.root);
    const sizes = blobSizes(opts.root, [...origins.keys()]);
    const wanted = [...origins.keys()].filter((sha) => {
      // Left out only when every path it was committed under is excluded.
      if ([...origins.get(sha)!.paths].every((p) => excluded.ignores(p))) return false;
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
        // Every path the blob was committed under (and not excluded) is named: a copy of a
        // secret in another file is another leak.
        for (const path of [...o.paths].filter((p) => !excluded.ignores(p)))
          for (const f of scanContent(content, path, opts))
            keep({ ...f, commit: o.commit, author: o.author, date: o.date });
      }
      opts.onProgress?.({ done, total: wanted.length, bytes: result.stats.bytes, unit: "blobs" });
    });
  } else {
    const files = (isGitRepo(opts.root) ? listGitFiles(opts.root) : walkFiles(opts.root)).filter(
      (p) => !excluded.ignores(p),
    );
    let done = 0;
    for (const rel of files) {
      done++;
      try {
        const abs = join(opts.root, rel);
        let content: Buffer;
        try {
          const st = statSync(abs);
          if (!st.isFile()) continue; // deleted but still in the index, or a special file
          if (st.size > max) {
            result.stats.skippedLarge++;
            continue;
          }
          content = readFileSync(abs);
        } catch {
          result.stats.skippedUnreadable++; // one unreadable file must not end the scan
          continue;
        }
        if (consider(content)) for (const f of scanContent(content, rel, opts)) keep(f);
      } finally {
        opts.onProgress?.({ done, total: files.length, bytes: result.stats.bytes, unit: "files" });
      }
    }
  }
  result.findings.sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line || a.column - b.column);
  result.stats.ms = performance.now() - started;
  return result;
}
