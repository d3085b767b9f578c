/**
 * Git plumbing for the scanner: which files a working tree holds (respecting .gitignore), every
 * blob ever committed on all refs with the commit that first introduced it, and streaming blob
 * contents out of `git cat-file --batch` — each distinct blob read once.
 */
import { spawn, spawnSync } from "node:child_process";
import { EnclaveError } from "../errors.js";

export interface BlobOrigin {
  commit: string;
  author: string;
  date: string;
  path: string;
  /** Every path the blob was ever committed under (exclusions must match all of them). */
  paths: Set<string>;
}

function git(cwd: string, args: string[]): string {
  const r = spawnSync("git", ["-c", "core.quotePath=false", ...args], {
    cwd,
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (r.error) throw new EnclaveError(`cannot run git: ${r.error.message} (is git installed?)`);
  if (r.status !== 0) throw new EnclaveError(`git ${args[0]} failed in ${cwd}: ${r.stderr.trim()}`);
  return r.stdout;
}

export function isGitRepo(dir: string): boolean {
  const r = spawnSync("git", ["rev-parse", "--is-inside-work-tree"], { cwd: dir, encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() === "true";
}

/**
 * Tracked and untracked-but-not-ignored files under `dir`, relative to it; undefined when `dir`
 * is not in a git work tree (or there is no git). Asynchronous: git lists while the caller gets
 * ready.
 */
export function listGitFiles(dir: string): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
        cwd: dir,
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch {
      resolve(undefined);
      return;
    }
    const out: Buffer[] = [];
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.on("error", () => resolve(undefined)); // no git: walk the folder
    child.on("close", (code) =>
      resolve(
        code === 0
          ? Buffer.concat(out)
              .toString("utf8")
              .split("\0")
              .filter((p) => p !== "")
          : undefined,
      ),
    );
  });
}

/**
 * Every blob introduced by a commit on any ref, oldest introduction first, with that commit.
 * Merges are diffed against each parent (-m), so a blob born in a conflict resolution counts too.
 */
export function blobOrigins(dir: string): Map<string, BlobOrigin> {
  const out = new Map<string, BlobOrigin>();
  // Every option that a user's git config could change is pinned: root commits shown, merges
  // diffed against each parent, no colour or external diff, NUL-separated (unquoted) paths,
  // parents before children (topo order, reversed) so "first introduced" survives skewed dates.
  const log = git(dir, [
    "-c",
    "log.showSignature=false",
    "log",
    "--all",
    "--topo-order",
    "--reverse",
    "--root",
    "--diff-merges=separate",
    "--no-renames",
    "--raw",
    "--no-abbrev",
    "--diff-filter=AMT",
    "--no-color",
    "--no-ext-diff",
    "-z",
    "--format=%x1e%H%x1f%an <%ae>%x1f%aI",
  ]);
  for (const record of log.split("\x1e")) {
    if (!record) continue;
    const end = record.indexOf("\0");
    const [commit, author, date] = (end < 0 ? record : record.slice(0, end)).split("\x1f") as [
      string,
      string,
      string,
    ];
    // Then pairs: ":<mode> <mode> <old sha> <new sha> <status>" NUL "<path>" NUL
    const fields = end < 0 ? [] : record.slice(end + 1).split("\0");
    for (let k = 0; k + 1 < fields.length; k++) {
      const meta = fields[k]!.replace(/^\n/, "");
      if (!meta.startsWith(":")) continue;
      const path = fields[++k]!;
      const [, mode, , sha] = meta.slice(1).split(" ");
      if (!sha || mode === "160000" || /^0+$/.test(sha)) continue; // submodules, deletions
      const seen = out.get(sha);
      if (seen) seen.paths.add(path);
      else out.set(sha, { commit, author, date, path, paths: new Set([path]) });
    }
  }
  return out;
}

/** Sizes of blobs, so oversized ones are never read. */
export function blobSizes(dir: string, shas: string[]): Map<string, number> {
  const r = spawnSync("git", ["cat-file", "--batch-check=%(objectname) %(objectsize)"], {
    cwd: dir,
    input: `${shas.join("\n")}\n`,
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new EnclaveError(`git cat-file failed: ${r.stderr.trim()}`);
  const out = new Map<string, number>();
  for (const line of r.stdout.split("\n")) {
    const [sha, size] = line.split(" ");
    if (sha && size && /^\d+$/.test(size)) out.set(sha, Number(size));
  }
  return out;
}

/** Stream the contents of `shas` (in order) through `onBlob`, one `git cat-file --batch` process. */
export async function readBlobs(
  dir: string,
  shas: string[],
  onBlob: (sha: string, content: Buffer) => void,
): Promise<void> {
  if (shas.length === 0) return;
  const child = spawn("git", ["cat-file", "--batch"], { cwd: dir, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.on("error", () => undefined);
  child.stdin.end(`${shas.join("\n")}\n`);
  let pending: Buffer = Buffer.alloc(0);
  // Chunks of a large blob are only collected until the whole blob is there, then joined once
  // (joining on every chunk would copy a 5 MB blob hundreds of times).
  const waiting: Buffer[] = [];
  let waitingBytes = 0;
  let want: { sha: string; size: number } | undefined;
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    if (want && pending.length + waitingBytes + chunk.length < want.size + 1) {
      waiting.push(chunk);
      waitingBytes += chunk.length;
      continue;
    }
    pending = Buffer.concat([pending, ...waiting, chunk]);
    waiting.length = 0;
    waitingBytes = 0;
    for (;;) {
      if (!want) {
        const nl = pending.indexOf(0x0a);
        if (nl < 0) break;
        const [sha, type, size] = pending.subarray(0, nl).toString("latin1").split(" ");
        pending = pending.subarray(nl + 1);
        if (type === "missing" || !size) continue;
        want = { sha: sha!, size: Number(size) };
      }
      if (pending.length < want.size + 1) break; // the content and its trailing newline
      onBlob(want.sha, pending.subarray(0, want.size));
      pending = pending.subarray(want.size + 1);
      want = undefined;
    }
  }
  const code: number = await new Promise((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.on("close", r),
  );
  if (code !== 0) throw new EnclaveError(`git cat-file --batch failed: ${stderr.trim()}`);
}
