/** Run the built `enclave` CLI as a user would, timing the whole process (spawn to exit). */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { runTimed, type TimedRun } from "./exec.js";

/** This file runs as dist/bench/lib/cli.js; the repository is three levels up. */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
/** The `enclave` command as installed (package.json "bin"): a shell launcher that runs node on CLI. */
export const LAUNCHER = fileURLToPath(new URL("../../../bin/enclave", import.meta.url));

export function assertCliBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing; run \`npm run build\` first`);
}

/** Run `node ARGS` with `input` on stdin; a non-zero exit fails the benchmark. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<TimedRun> {
  return runTimed(process.execPath, args, env, input);
}

/** Run `enclave ARGS` as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<TimedRun> {
  return runNode([CLI, ...args], env, input);
}
