/**
 * Run a program, timed spawn to exit, where a non-zero exit can be an answer rather than a failure
 * (a scanner exits 1 when it finds something), with an optional time limit. Unlike exec.ts's
 * runTimed, the exit code is returned, not thrown; the caller says which codes are acceptable.
 *
 * The program runs in a process group of its own, so that a time limit ends it together with the
 * children it started (git-secrets is a shell script that runs git log and git grep).
 */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

export interface StatusRun {
  /** Wall time from spawn to exit (or to the kill, when the time limit was reached). */
  ms: number;
  /** The exit code; null when the process was killed. */
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface StatusRunOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  input?: Buffer | string;
  /** Kill the process group after this long and report timedOut. */
  timeoutMs?: number;
  /** Exit codes that are answers; any other (or a signal) rejects. Default [0]. */
  okCodes?: number[];
}

/** Processes started here and still running: killed if the benchmark itself is interrupted. */
const running = new Set<number>();

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Kill every process group this module started that is still running (for signal handlers). */
export function killRunning(): void {
  for (const pid of running) killGroup(pid);
  running.clear();
}

export function runStatus(command: string, args: string[], o: StatusRunOptions): Promise<StatusRun> {
  const ok = o.okCodes ?? [0];
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, {
      cwd: o.cwd,
      env: o.env,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let killedAt: number | undefined;
    const timer =
      o.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            killedAt = performance.now();
            if (pid !== undefined) killGroup(pid);
          }, o.timeoutMs);
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.on("error", () => undefined);
    child.stdin.end(o.input ?? "");
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      reject(e);
    });
    child.on("close", (code) => {
      const ms = (killedAt ?? performance.now()) - start;
      if (timer) clearTimeout(timer);
      if (pid !== undefined) running.delete(pid);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (timedOut) resolve({ ms, code: null, timedOut, stdout, stderr });
      else if (code !== null && ok.includes(code)) resolve({ ms, code, timedOut, stdout, stderr });
      else
        reject(
          new Error(
            `${command} ${args.join(" ")} exited ${code ?? "by a signal"}: ${(stderr || stdout).slice(0, 2000)}`,
          ),
        );
    });
  });
}
