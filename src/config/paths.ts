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
  /** Append-only, hash-chained audit log of runs, requests and issued credentials. */
  auditFile: string;
  /**
   * Per-run RAM directories (CA bundle, generated AWS config, the proxy's socket). A sibling of
   * the runtime directory, never inside it: the sandbox hides the runtime directory from the child
   * but must show it its own run directory.
   */
  runsDir: string;
}

export function defaultRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "enclave");
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  return `/dev/shm/enclave-${uid}`;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): EnclavePaths {
  const home = resolve(env.ENCLAVE_HOME || join(homedir(), ".enclave"));
  const runtimeDir = resolve(env.ENCLAVE_RUNTIME_DIR || defaultRuntimeDir(env));
  return {
    home,
    vaultFile: join(home, "vault.enc"),
    configFile: join(home, "config.yaml"),
    lockTarget: join(home, "vault.lock"),
    runtimeDir,
    auditFile: join(home, "audit.jsonl"),
    runsDir: `${runtimeDir}.runs`,
  };
}
