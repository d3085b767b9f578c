/**
 * Where things live. ENCLAVE_HOME holds the encrypted vault and the config (persistent);
 * ENCLAVE_RUNTIME_DIR holds unlocked material (must be RAM-backed).
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface EnclavePaths {
  home: string;
  vaultFile: string;
  configFile: string;
  /** Serialises every read-modify-write of the vault and of the runtime directory. */
  lockTarget: string;
  runtimeDir: string;
}

export function defaultRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "enclave");
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return `/dev/shm/enclave-${uid}`;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): EnclavePaths {
  const home = resolve(env.ENCLAVE_HOME || join(homedir(), ".enclave"));
  return {
    home,
    vaultFile: join(home, "vault.enc"),
    configFile: join(home, "config.yaml"),
    lockTarget: join(home, "vault.lock"),
    runtimeDir: resolve(env.ENCLAVE_RUNTIME_DIR || defaultRuntimeDir(env)),
  };
}
