/**
 * Crash-safe file replacement: temp file in the same directory (created 0600, never wider),
 * write, fsync, rename over the target, fsync the directory. A crash at any point leaves either
 * the old file or the new one in place — never a mix, never a truncated file.
 */

import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";

// node:crypto is loaded on the first write: every command imports this file through the config, and
// most read the config without writing anything (loading it costs ~4 ms of start-up).
let crypto: typeof import("node:crypto") | undefined;
const randomHex = (bytes: number): string => {
  crypto ??= createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto");
  return crypto.randomBytes(bytes).toString("hex");
};

const TMP_MARK = ".tmp-";

/** writeSync until every byte is out (a write may take fewer bytes than asked). */
export function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) off += writeSync(fd, data, off, data.length - off);
}

export function atomicWriteFile(target: string, data: Buffer, mode = 0o600): void {
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}${TMP_MARK}${process.pid}-${randomHex(4)}`);
  const fd = openSync(tmp, "wx", mode);
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Remove temp files left by writers that were killed mid-write. Call only while holding the
 * lock that serialises writers of `target`, or a live writer's temp file could be removed.
 */
export function removeStaleTempFiles(target: string): void {
  const prefix = `.${basename(target)}${TMP_MARK}`;
  const dir = dirname(target);
  for (const f of readdirSync(dir)) if (f.startsWith(prefix)) rmSync(join(dir, f), { force: true });
}
