/**
 * The run sandbox: how `enclave run` starts its command. With bubblewrap, the command gets its
 * own network namespace (only loopback, where a socat bridge serves the run's proxy port from the
 * proxy's Unix socket), its own pid/ipc/uts/cgroup namespaces, no capabilities, a read-only view
 * of the host with the working directory writable, a fresh /tmp, and the vault's directories and
 * other credential stores hidden. Without it (`none`), the command runs as is, with a warning.
 *
 * The caller spawns `plan.file plan.args` with `plan.env` and `plan.cwd`, stdio inherited, and
 * forwards signals to that process: they reach the command, and the command's exit status comes
 * back as the spawned process's (128+N if signal N killed it). See docs/sandbox.md.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { endianness } from "node:os";
import { basename, dirname, isAbsolute, join, relative, sep } from "node:path";
import type { EnclavePaths } from "../config/paths.js";
import { EnclaveError } from "../errors.js";
import { INNER, OUTER } from "./scripts.js";
import { BASE_MOUNTS, NAMESPACE_FLAGS, type SandboxTools, SH, sandboxTools } from "./tools.js";

export type SandboxMode = "auto" | "bwrap" | "none";

export interface SandboxRequest {
  command: string;
  args: string[];
  /** The child's final environment (already cleaned by the caller). */
  env: Record<string, string>;
  /** The working directory; stays writable. */
  cwd: string;
  /** Unix socket of the run's proxy (host path). */
  proxySocket: string;
  /** The port the child's HTTP(S)_PROXY names on 127.0.0.1. */
  proxyPort: number;
  /** The run's RAM directory: visible, read-only, at the same path. */
  runDir: string;
  /** Absolute paths to make invisible (dirs: empty; files: unreadable). Missing ones are ignored. */
  hide: string[];
  /** Extra absolute host paths to keep writable (bound read-write at the same path). */
  writable?: string[];
  /**
   * Host paths to keep visible read-only even where the sandbox mounts a fresh filesystem (/tmp,
   * /dev/shm): enclave's own installation, whose credential_process helper the child runs.
   */
  readable?: string[];
}

export interface SpawnPlan {
  kind: "bwrap" | "none";
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  warnings: string[];
}

/** Where the proxy socket appears inside the sandbox when its own path would confuse socat. */
export const SANDBOX_SOCKET = "/dev/enclave-proxy.sock";

const INSTALL_HINT = "install bubblewrap and socat (apt-get install bubblewrap socat)";

const UNSANDBOXED =
  "the command runs without a sandbox: it can read the unlocked vault and every credential file " +
  "this user can read, and it can connect to the network directly, bypassing the proxy " +
  "(its allow-list, credential injection and audit log)";

/** True when `bwrap` mode can work here (bwrap and socat on PATH, namespaces allowed). Cached. */
export function bwrapAvailable(): boolean {
  return sandboxTools().ok;
}

export function planSandbox(mode: SandboxMode, req: SandboxRequest): SpawnPlan {
  if (mode === "none") return direct(req, [`--sandbox none: ${UNSANDBOXED}`]);
  const tools = sandboxTools();
  if (!tools.ok) {
    if (mode === "bwrap")
      throw new EnclaveError(
        `--sandbox bwrap: ${tools.reason}. To run sandboxed, ${INSTALL_HINT}; ` +
          "or accept an unsandboxed run with --sandbox none",
      );
    return direct(req, [
      `bubblewrap is not usable (${tools.reason}), so ${UNSANDBOXED}. To isolate it, ${INSTALL_HINT}`,
    ]);
  }
  return bwrapPlan(tools, req);
}

function direct(req: SandboxRequest, warnings: string[]): SpawnPlan {
  return {
    kind: "none",
    file: req.command,
    args: [...req.args],
    env: { ...req.env },
    cwd: req.cwd,
    warnings,
  };
}

/**
 * ENCLAVE_HOME, the runtime directory and the other runs' directories, then the usual
 * credential stores under HOME and the sockets that lead out of any sandbox (the container
 * engines, D-Bus, the per-user runtime directories with their agents). Documented in
 * docs/sandbox.md; `run.hide` in config.yaml adds to it.
 */
export function defaultHiddenPaths(
  paths: EnclavePaths,
  home: string,
  env: Record<string, string | undefined> = process.env,
): string[] {
  const inHome = HOME_CREDENTIALS.map((p) => join(home, p));
  const runtime = env.XDG_RUNTIME_DIR && isAbsolute(env.XDG_RUNTIME_DIR) ? [env.XDG_RUNTIME_DIR] : [];
  return [paths.home, paths.runtimeDir, paths.runsDir, ...inHome, ...runtime, ...SYSTEM_SOCKETS];
}

/** Relative to HOME. */
export const HOME_CREDENTIALS = [
  ".aws",
  ".ssh",
  ".gnupg",
  ".config/gh",
  ".config/hub",
  ".config/git/credentials",
  ".git-credentials",
  ".netrc",
  ".docker",
  ".config/containers/auth.json",
  ".kube",
  ".config/gcloud",
  ".azure",
  ".oci",
  ".config/doctl",
  ".terraform.d/credentials.tfrc.json",
  ".vault-token",
  ".npmrc",
  ".yarnrc",
  ".pypirc",
  ".cargo/credentials",
  ".cargo/credentials.toml",
  ".gem/credentials",
  ".config/rclone",
  ".s3cfg",
  ".boto",
  ".pgpass",
  ".my.cnf",
  ".password-store",
  ".local/share/keyrings",
  ".tazpod",
  ".mozilla",
  ".config/google-chrome",
  ".config/chromium",
  ".bash_history",
  ".zsh_history",
  ".python_history",
  ".node_repl_history",
  ".psql_history",
  ".mysql_history",
];

export const SYSTEM_SOCKETS = [
  "/run/user",
  "/run/docker.sock",
  "/run/podman",
  "/run/containerd",
  "/run/dbus",
];

/** Mounted afresh inside the sandbox (BASE_MOUNTS): host paths under them are invisible anyway. */
const REPLACED = ["/tmp", "/dev", "/proc"];

function within(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

function real(path: string, what: string): string {
  if (!isAbsolute(path)) throw new EnclaveError(`sandbox: ${what} must be an absolute path: ${path}`);
  try {
    return realpathSync(path);
  } catch {
    throw new EnclaveError(`sandbox: ${what} does not exist: ${path}`);
  }
}

/** socat reads `:`, `,`, quotes, brackets and blanks in an address as syntax. */
const SOCAT_SAFE = /^[A-Za-z0-9/._+@%~-]+$/;

/**
 * What to mount over to hide `hide`: existing paths, by their real path (a symlink's target is
 * what must vanish), without those another hidden path already covers or the run directory holds,
 * nor those under /tmp, /dev and /proc that no bind brings back. Sorted; `true` for a directory.
 * Throws if the working directory or a writable path would be hidden.
 */
function hiddenMounts(
  hide: string[],
  b: { cwd: string; writable: string[]; readable: string[]; runDir: string },
): [string, boolean][] {
  for (const p of hide)
    if (!isAbsolute(p)) throw new EnclaveError(`sandbox: paths to hide must be absolute (run.hide): ${p}`);
  const hidden = new Map<string, boolean>(); // real path -> is a directory
  for (const p of hide) {
    let r: string;
    try {
      r = realpathSync(p); // throws for a missing path and a dangling link alike
    } catch {
      continue;
    }
    if (within(r, b.runDir)) continue;
    hidden.set(r, statSync(r).isDirectory());
  }
  const hiddenPaths = [...hidden.keys()];
  const outermost = [...hidden.entries()]
    .filter(([p]) => !hiddenPaths.some((q) => q !== p && within(p, q)))
    .sort(([x], [y]) => (x < y ? -1 : 1));
  for (const w of [b.cwd, ...b.writable]) {
    const over = outermost.find(([p]) => within(w, p));
    if (over)
      throw new EnclaveError(
        `sandbox: ${w === b.cwd ? "the working directory" : "the writable path"} ${w} is inside ${over[0]}, ` +
          "which the sandbox hides; run from another directory (or remove it from run.hide)",
      );
  }
  // Under /tmp, /dev and /proc the host's files are gone anyway, unless a bind brings them back.
  const bound = [b.cwd, ...b.writable, ...b.readable, b.runDir];
  return outermost.filter(([p]) => !REPLACED.some((d) => within(p, d)) || bound.some((x) => within(p, x)));
}

function bwrapPlan(tools: SandboxTools, req: SandboxRequest): SpawnPlan {
  const port = req.proxyPort;
  if (!Number.isInteger(port) || port < 1024 || port > 65535)
    throw new EnclaveError(`sandbox: the proxy port must be an integer from 1024 to 65535, not ${port}`);
  const cwd = real(req.cwd, "the working directory");
  if (cwd === "/")
    throw new EnclaveError("sandbox: run from a project directory, not from / (it would be writable)");
  const runDir = real(req.runDir, "the run directory");
  const writable = (req.writable ?? []).map((p) => real(p, "a writable path"));
  const readable = (req.readable ?? []).map((p) => real(p, "a readable path"));
  const hides = hiddenMounts(req.hide, { cwd, writable, readable, runDir });

  // The proxy socket: through the run directory when socat can take its path, else bound alone.
  const sockDir = real(dirname(req.proxySocket), "the proxy socket's directory");
  let sock = join(sockDir, basename(req.proxySocket));
  const extraBinds: string[] = [];
  if (!within(sock, runDir) || !SOCAT_SAFE.test(sock)) {
    if (!existsSync(sock)) throw new EnclaveError(`sandbox: the proxy socket does not exist: ${sock}`);
    extraBinds.push("--ro-bind", sock, SANDBOX_SOCKET);
    sock = SANDBOX_SOCKET;
  }

  const args = [...NAMESPACE_FLAGS, ...BASE_MOUNTS];
  for (const r of readable) args.push("--ro-bind", r, r);
  for (const w of [cwd, ...writable]) args.push("--bind", w, w);
  for (const [p, dir] of hides) args.push(...(dir ? ["--tmpfs", p] : ["--ro-bind", "/dev/null", p]));
  args.push("--ro-bind", runDir, runDir, ...extraBinds);
  for (const [p, dir] of hides) if (dir) args.push("--remount-ro", p);
  args.push("--chdir", req.cwd);

  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const addr = `${endianness() === "LE" ? "0100007F" : "7F000001"}:${hex}`;
  args.push(
    "--",
    SH,
    "-c",
    INNER,
    "enclave-sandbox",
    tools.socat!,
    String(port),
    addr,
    sock,
    tools.env ?? "",
  );
  args.push(req.command, ...req.args);

  const warnings: string[] = [];
  if (!tools.env)
    warnings.push(
      "env(1) without --default-signal (coreutils 8.31+): Ctrl-C on the terminal ends the sandbox at once (SIGKILL) instead of reaching the command",
    );
  if (!tools.seccomp && tiocstiAllowed())
    warnings.push(
      `no TIOCSTI filter for ${process.arch}: the command could type into this terminal after it exits; set the sysctl dev.tty.legacy_tiocsti=0 (Linux 6.2+)`,
    );
  const outer = [
    "-c",
    OUTER,
    "enclave-sandbox",
    tools.bwrap!,
    tools.seccomp ?? "",
    tools.env ? "1" : "0",
    ...args,
  ];
  return {
    kind: "bwrap",
    // setpriv: if enclave dies (even by SIGKILL), the wrapper gets SIGKILL, and bwrap's
    // --die-with-parent takes the command with it.
    file: tools.setpriv ?? SH,
    args: tools.setpriv ? ["--pdeathsig", "KILL", "--", SH, ...outer] : outer,
    env: { ...req.env },
    cwd: req.cwd,
    warnings,
  };
}

const LEGACY_TIOCSTI = "/proc/sys/dev/tty/legacy_tiocsti";
let tiocsti: boolean | undefined;

/**
 * TIOCSTI works for unprivileged processes unless Linux 6.2+ has dev.tty.legacy_tiocsti=0.
 * Read once per process.
 */
export function tiocstiAllowed(read: () => string = () => readFileSync(LEGACY_TIOCSTI, "utf8")): boolean {
  if (tiocsti === undefined) {
    try {
      tiocsti = read().trim() !== "0";
    } catch {
      tiocsti = true;
    }
  }
  return tiocsti;
}
