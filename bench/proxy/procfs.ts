/**
 * What /proc says about a process: resident memory (now and peak), open file descriptors, and
 * CPU time. The proxy benchmark reads the proxy's process (the `enclave run` node process, or
 * mitmdump) and the upstream's, never its own guesses.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

export interface ProcMemory {
  /** VmRSS, KiB. */
  rssKiB: number;
  /** VmHWM (peak RSS since the process started), KiB. */
  hwmKiB: number;
}

export function readMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]);
  };
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

/** Open file descriptors (sockets included). */
export function countFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** User + system CPU time the process has used so far, in milliseconds (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const ticks = Number(rest[11]) + Number(rest[12]);
  return (ticks * 1000) / USER_HZ;
}

/** The command line, for checking that a pid is the process we think it is. */
export function cmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
}
