/**
 * The run's RAM directory, `<runsDir>/<runId>/`: the CA bundle, the proxy's socket, the AWS
 * config and endpoint token. The runs directory gets the runtime directory's checks (private,
 * RAM-backed); a run directory left by an `enclave run` that was killed (SIGKILL, power loss on a
 * persistent disk) is swept by the next run, once its owner process is gone.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkMemoryFs } from "../platform/memory-fs.js";
import { assertPrivateDir } from "../platform/private-dir.js";

const OWNER_FILE = "pid";

export function createRunDir(runsDir: string, runId: string, notice: (m: string) => void): string {
  mkdirSync(runsDir, { recursive: true, mode: 0o700 });
  assertPrivateDir(runsDir, "runs directory", "remove it, or point ENCLAVE_RUNTIME_DIR elsewhere");
  const fs = checkMemoryFs(runsDir);
  if (!fs.inMemory)
    notice(
      `enclave: warning: ${runsDir} is not on tmpfs (${fs.type}); the run's tokens will touch the disk. ` +
        "Point ENCLAVE_RUNTIME_DIR at a tmpfs directory",
    );
  sweepStale(runsDir);
  const dir = join(runsDir, runId);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, OWNER_FILE), `${process.pid}\n`, { mode: 0o600 });
  return dir;
}

function sweepStale(runsDir: string): void {
  for (const name of readdirSync(runsDir)) {
    const dir = join(runsDir, name);
    const owner = join(dir, OWNER_FILE);
    const pid = existsSync(owner) ? Number.parseInt(readFileSync(owner, "utf8"), 10) : Number.NaN;
    if (Number.isInteger(pid) ? alive(pid) : Date.now() - statSync(dir).mtimeMs < 60_000) continue; // (no pid yet: being made)
    rmSync(dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
