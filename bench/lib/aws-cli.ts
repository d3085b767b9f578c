/**
 * The AWS CLI as the by-hand floor: `aws s3 cp` of a file up and down, timed spawn to exit.
 * Which `aws`: BENCH_AWS if set, else Debian's v2 at /usr/bin/aws, else the first on PATH.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { runTimed } from "./exec.js";

export interface AwsCli {
  path: string;
  /** Set when `path` was reached through a pyenv shim (whose own start-up is left out). */
  resolvedFrom?: string;
  version: string;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * A pyenv shim is a bash script that looks up the Python version on every call (~0.1 s here):
 * that is pyenv's cost, not the AWS CLI's, so the floor uses the real executable behind it.
 */
function throughPyenvShim(path: string): string | undefined {
  if (!path.includes("/.pyenv/shims/")) return undefined;
  try {
    return execFileSync("pyenv", ["which", "aws"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function findAwsCli(env: NodeJS.ProcessEnv): Promise<AwsCli> {
  const found = process.env.BENCH_AWS ?? (existsSync("/usr/bin/aws") ? "/usr/bin/aws" : onPath("aws"));
  if (!found) throw new Error("no `aws` on PATH (install the AWS CLI, or set BENCH_AWS=/path/to/aws)");
  const real = throughPyenvShim(found);
  const path = real ?? found;
  const r = await runTimed(path, ["--version"], env);
  // v1 prints its version to stderr on older releases, stdout on newer ones; v2 to stdout.
  const version = (r.stdout.trim() || r.stderr.trim()).split("\n")[0] ?? "unknown";
  return real ? { path, resolvedFrom: found, version } : { path, version };
}

/** `aws s3 cp SRC DST` against `endpoint`, quiet (no progress output to slow or clutter it). */
export async function awsCopy(
  cli: AwsCli,
  endpoint: string,
  src: string,
  dst: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const r = await runTimed(
    cli.path,
    ["s3", "cp", src, dst, "--endpoint-url", endpoint, "--only-show-errors"],
    env,
  );
  return r.ms;
}
