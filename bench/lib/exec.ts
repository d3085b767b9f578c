/**
 * Run any program and time it spawn to exit: node and the enclave CLI (cli.ts), and the peer tools
 * a benchmark compares them against (the AWS CLI), all timed the same way.
 */
import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";

export interface TimedRun {
  /** Wall time from spawn to exit, the program's start-up included. */
  ms: number;
  stdout: string;
  stderr: string;
}

/** Run `command ARGS` with `input` on stdin; a non-zero exit fails the benchmark. */
export function runTimed(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: Buffer,
): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.on("error", () => undefined); // the program may exit without reading stdin
    child.stdin.end(input ?? Buffer.alloc(0));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - start;
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) resolve({ ms, stdout, stderr });
      else reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${stderr || stdout}`));
    });
  });
}
