/**
 * Finding the programs the bubblewrap sandbox needs, on the PATH of the enclave process, and
 * probing once (per PATH value) that bwrap can really create the namespaces the sandbox uses:
 * a distribution may ship bwrap while forbidding unprivileged user namespaces (AppArmor, sysctl).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { printfEscaped, tiocstiFilter } from "./seccomp.js";

export interface SandboxTools {
  /** bwrap and socat were found and a probe sandbox with the run's namespaces started. */
  ok: boolean;
  /** Why not, when !ok: one line for the user. */
  reason?: string;
  bwrap?: string;
  socat?: string;
  /** env(1) with --default-signal (coreutils 8.31+), to give the command back Ctrl-C. */
  env?: string;
  /** setpriv(1) with --pdeathsig: the sandbox dies with enclave even when enclave is SIGKILLed. */
  setpriv?: string;
  /** The TIOCSTI filter for this architecture, as printf escapes; undefined if unknown. */
  seccomp?: string;
}

/** The shell the wrapper scripts run with, on the host and inside the sandbox. */
export const SH = "/bin/sh";

/** The namespace and capability flags every sandbox uses; the probe uses exactly these. */
export const NAMESPACE_FLAGS = [
  "--unshare-user-try",
  "--unshare-pid",
  "--unshare-net",
  "--unshare-ipc",
  "--unshare-uts",
  "--unshare-cgroup-try",
  "--die-with-parent",
  "--cap-drop",
  "ALL",
];

/**
 * The filesystem every sandbox starts from: the host read-only, fresh /dev, /proc, /tmp and
 * /dev/shm. The probe mounts exactly these, so it tests what a run does.
 */
export const BASE_MOUNTS: readonly string[] = [
  "--ro-bind",
  "/",
  "/",
  "--dev",
  "/dev",
  "--proc",
  "/proc",
  "--tmpfs",
  "/tmp",
  "--tmpfs",
  "/dev/shm",
];

/** The bwrap arguments of the availability probe: a run's namespaces and mounts, then `exit 0`. */
export function probeArgs(withSeccomp: boolean): string[] {
  return [
    ...(withSeccomp ? ["--seccomp", "0"] : []),
    ...NAMESPACE_FLAGS,
    ...BASE_MOUNTS,
    "--",
    SH,
    "-c",
    "exit 0",
  ];
}

/** The first executable NAME on PATH (empty entries ignored), like execvp. */
export function findExecutable(
  name: string,
  path: string | undefined = process.env.PATH,
): string | undefined {
  for (const dir of (path ?? "").split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const file = join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {}
  }
  return undefined;
}

const cache = new Map<string, SandboxTools>();

/** What this machine offers, for the current PATH (cached per PATH value). */
export function sandboxTools(path: string | undefined = process.env.PATH): SandboxTools {
  const key = path ?? "";
  let t = cache.get(key);
  if (!t) {
    t = probe(path);
    cache.set(key, t);
  }
  return t;
}

function probe(path: string | undefined): SandboxTools {
  const bwrap = findExecutable("bwrap", path);
  const socat = findExecutable("socat", path);
  const filter = tiocstiFilter();
  const t: SandboxTools = { ok: false, bwrap, socat, seccomp: filter ? printfEscaped(filter) : undefined };
  const missing = [bwrap ? "" : "bwrap (bubblewrap)", socat ? "" : "socat"].filter(Boolean);
  if (missing.length > 0) {
    t.reason = `${missing.join(" and ")} not found on PATH`;
    return t;
  }
  const envBin = findExecutable("env", path);
  if (envBin && run(envBin, ["--default-signal=INT", SH, "-c", "exit 0"]).status === 0) t.env = envBin;
  const setpriv = findExecutable("setpriv", path);
  if (setpriv && run(setpriv, ["--pdeathsig", "KILL", "--", SH, "-c", "exit 0"]).status === 0)
    t.setpriv = setpriv;
  const r = run(bwrap!, probeArgs(filter !== undefined), filter);
  if (r.status === 0) {
    t.ok = true;
    return t;
  }
  const detail = r.error
    ? r.error.message
    : (r.stderr.toString().trim().split("\n")[0] ?? "") || `exit ${r.status ?? r.signal}`;
  t.reason = `bwrap cannot create the sandbox's namespaces here (${detail})`;
  return t;
}

function run(file: string, args: string[], input?: Buffer) {
  return spawnSync(file, args, {
    input: input ?? Buffer.alloc(0),
    stdio: ["pipe", "ignore", "pipe"],
    timeout: 10_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
}
