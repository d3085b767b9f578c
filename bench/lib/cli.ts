/** Run the built `enclave` CLI as a user would, timing the whole process (spawn to exit). */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

/** This file runs as dist/bench/lib/cli.js; the repository is three levels up. */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

export interface CliRun {
  /** Wall time from spawn to exit, node start-up included. */
  ms: number;
  stdout: string;
}

export function assertCliBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; run \`npm run build\` first`);
}

/** Run `node ARGS` with `input` on stdin; a non-zero exit fails the benchmark. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdin.on("error", () => undefined); // the CLI may exit without reading stdin
    child.stdin.end(input ?? Buffer.alloc(0));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - start;
      if (code === 0) resolve({ ms, stdout: Buffer.concat(out).toString() });
      else reject(new Error(`node ${args.join(" ")} exited ${code}: ${Buffer.concat(err).toString()}`));
    });
  });
}

/** Run `enclave ARGS` as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<CliRun> {
  return runNode([CLI, ...args], env, input);
}
