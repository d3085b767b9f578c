/**
 * Is a directory in RAM? The runtime directory holds decrypted secrets, so it must live on tmpfs
 * or ramfs (Linux), where nothing reaches a persistent disk — except through swap, which we detect.
 */
import { existsSync, readFileSync, statfsSync } from "node:fs";
import { dirname } from "node:path";

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export interface FsCheck {
  inMemory: boolean;
  /** tmpfs, ramfs, or the hex magic of another filesystem. */
  type: string;
  /** The existing path that was examined (the directory itself or its nearest existing parent). */
  checkedPath: string;
}

export function checkMemoryFs(dir: string): FsCheck {
  let p = dir;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  const { type } = statfsSync(p);
  const name = type === TMPFS_MAGIC ? "tmpfs" : type === RAMFS_MAGIC ? "ramfs" : `0x${type.toString(16)}`;
  return { inMemory: name === "tmpfs" || name === "ramfs", type: name, checkedPath: p };
}

/** Active swap devices, from /proc/swaps (empty when none or not on Linux). */
export function activeSwap(procSwaps = "/proc/swaps"): string[] {
  try {
    return readFileSync(procSwaps, "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/)[0] ?? "")
      .filter((dev) => dev !== "");
  } catch {
    return [];
  }
}
