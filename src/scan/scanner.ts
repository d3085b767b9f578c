/**
 * The scan itself: a working tree or every blob in a git history, pattern rules plus (optionally)
 * the unlocked vault's own values. Binary and oversized content is skipped; inline
 * `enclave:allow` comments and baseline fingerprints suppress exactly what they name.
 */
import { readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { UsageError } from "../errors.js";
import { detectorFor, type FileOutcome, findingsIn, isBinary, scanFile } from "./content.js";
import type { Finding } from "./findings.js";
import { blobOrigins, blobSizes, isGitRepo, listGitFiles, readBlobs } from "./git.js";
import {
  countScanned,
  forEachTaken,
  type Helper,
  helperPossible,
  RATE_WINDOW,
  sharedCounters,
  startHelper,
  worthAHelper,
} from "./helper.js";
import type { KnownMatcher } from "./known.js";
import { RULES, type Rule } from "./rules.js";

export { scanContent } from "./content.js";

export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024;
/** Below this many files a working tree is scanned on one thread (a helper takes ~50 ms to start). */
const HELPER_MIN_FILES = 128;

export interface ScanOptions {
  /** The folder to scan (a git work tree for --history). */
  root: string;
  /** Working tree: `listGitFiles(root)`, when the caller has started it already (to save its wait). */
  listing?: Promise<string[] | undefined>;
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
  /**
   * Working tree with the built-in rules and no --known: share the files with a helper thread —
   * true: from the start, when there are many files and more than one CPU; undefined: when the
   * scan turns out to be long enough for one to pay (see worthAHelper); false: never. The result
   * is the same either way.
   */
  parallel?: boolean;
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

/**
 * Scan `files` (relative to opts.root), taking batches from a counter that a helper thread, once
 * one joins, takes batches from too (`shareable`: the built-in rules and no vault values, which is
 * what the helper scans with); what became of each file, by index.
 */
async function scanTree(
  opts: ScanOptions,
  files: string[],
  max: number,
  detector: ReturnType<typeof detectorFor>,
  shareable: boolean,
): Promise<(FileOutcome | undefined)[]> {
  const outcomes: (FileOutcome | undefined)[] = new Array(files.length);
  const counters = sharedCounters();
  const { control, bytes } = counters;
  let helper: Helper | undefined;
  const join = () => {
    helper = startHelper(counters, { root: opts.root, max, files });
  };
  const possible =
    shareable && opts.parallel !== false && files.length >= HELPER_MIN_FILES && helperPossible();
  if (possible && opts.parallel === true) join();
  const one = (i: number) => {
    const outcome = scanFile(detector, opts.root, files[i]!, max, opts.known);
    outcomes[i] = outcome;
    const done = countScanned(control, bytes, outcome);
    opts.onProgress?.({ done, total: files.length, bytes: Number(bytes[0]), unit: "files" });
  };
  // Once, from the main thread's rate over RATE_WINDOW: is a helper worth it for the rest?
  let deciding = possible && !helper;
  let from: { ms: number; done: number; batches: number } | undefined;
  const started = performance.now();
  forEachTaken(control, files.length, one, () => {
    if (!deciding) return;
    const ms = performance.now() - started;
    const done = Atomics.load(control, 2);
    if (ms < RATE_WINDOW.fromMs) return;
    if (!from) from = { ms, done, batches: 0 };
    else if (++from.batches >= RATE_WINDOW.batches && ms - from.ms >= RATE_WINDOW.forMs) {
      deciding = false;
      if (worthAHelper((done - from.done) / (ms - from.ms), files.length - done)) join();
    }
  });
  if (helper && !helper.cancel()) {
    const r = await helper.reply;
    for (const [i, outcome] of r.outcomes) outcomes[i] = outcome;
    // Whatever a failed helper took and did not finish.
    for (let i = 0; i < files.length; i++) if (outcomes[i] === undefined) one(i);
  }
  return outcomes;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

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
  /** History: each blob's content. */
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
    // git lists the files while this thread compiles the detector (or has, since the caller began).
    const listing = opts.listing ?? listGitFiles(opts.root);
    detector.buffer(0);
    const ignore = await exclusions(opts.exclude);
    const files = (await listing) ?? walkFiles(opts.root);
    const wanted = ignore ? files.filter((p) => !ignore(p)) : files;
    const shareable = !opts.known && (opts.rules ?? RULES) === RULES;
    const outcomes = await scanTree(opts, wanted, max, detector, shareable);
    // In list order, whichever thread scanned what: the same result as one thread.
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === "large") result.stats.skippedLarge++;
      else if (outcome === "unreadable")
        result.stats.skippedUnreadable++; // never fatal
      else if (outcome === "binary") result.stats.skippedBinary++;
      else if (outcome !== "not a file" && outcome !== undefined) {
        result.stats.scanned++;
        result.stats.bytes += outcome.bytes;
        for (const f of outcome.findings) keep(f);
      } else if (outcome === undefined) throw new Error(`no outcome for ${wanted[i]}`);
    }
  }
  // By path (code units: the same order on every machine, whatever its locale), line, column.
  result.findings.sort((a, b) => byCodeUnits(a.path, b.path) || a.line - b.line || a.column - b.column);
  result.stats.ms = performance.now() - started;
  return result;
}
