/**
 * Throw-away vault locations: ENCLAVE_HOME on the persistent disk (os.tmpdir(), so the vault
 * write pays a real fsync, as it does for a user) and ENCLAVE_RUNTIME_DIR on tmpfs (/dev/shm, as
 * enclave requires). Everything is removed on cleanup, also when the run is interrupted.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { wipe } from "../../src/secure/buffers.js";

export interface Sandbox {
  home: string;
  /** The passphrase, also written (without newline) to passFile for the CLI. */
  passphrase: Buffer;
  passFile: string;
  env: NodeJS.ProcessEnv;
  cleanup(): void;
}

const live = new Set<Sandbox>();

function cleanupAll(): void {
  for (const sb of live) sb.cleanup();
}

// An interrupted benchmark must not leave decrypted (if random) values behind in /dev/shm.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    cleanupAll();
    process.exit(128 + constants.signals[signal]);
  });
process.once("exit", cleanupAll);

/** A random printable passphrase made in place, so it never exists as a JS string. */
export function randomPassphrase(length = 24): Buffer {
  const b = randomBytes(length);
  for (let i = 0; i < b.length; i++) b[i] = 0x61 + (b[i]! % 26);
  return b;
}

export function makeSandbox(tag: string): Sandbox {
  const home = mkdtempSync(join(tmpdir(), `enclave-bench-${tag}-home-`));
  const shmParent = mkdtempSync(join("/dev/shm", `enclave-bench-${tag}-`));
  const passphrase = randomPassphrase();
  const passFile = join(shmParent, "pass");
  writeFileSync(passFile, passphrase, { mode: 0o600 });
  // A not-yet-existing child: enclave creates it 0700 and removes it again on lock.
  const runtimeDir = join(shmParent, "rt");
  const sb: Sandbox = {
    home,
    passphrase,
    passFile,
    env: { ...process.env, ENCLAVE_HOME: home, ENCLAVE_RUNTIME_DIR: runtimeDir },
    cleanup: () => {
      if (!live.delete(sb)) return;
      wipe(passphrase);
      for (const d of [home, shmParent]) rmSync(d, { recursive: true, force: true });
    },
  };
  live.add(sb);
  return sb;
}
