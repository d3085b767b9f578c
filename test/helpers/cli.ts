/**
 * Drive the built CLI as a user would: a child process with its own ENCLAVE_HOME (persistent
 * disk) and ENCLAVE_RUNTIME_DIR (tmpfs), a passphrase file, and captured output.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const CLI = join(REPO, "dist/src/cli/main.js");
/** The documented floor: the fastest KDF enclave accepts, so tests stay quick. */
export const FAST_KDF = "argon2id:m=19456,t=2,p=1";
export const PASSPHRASE = "correct horse battery staple";

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface Sandbox {
  home: string;
  runtimeDir: string;
  passFile: string;
  env: NodeJS.ProcessEnv;
  vaultFile: string;
  run(args: string[], opts?: { input?: string | Buffer; env?: NodeJS.ProcessEnv }): RunningCli;
  /** Run and require exit 0; returns stdout as text. */
  ok(args: string[], opts?: { input?: string | Buffer }): Promise<string>;
  cleanup(): void;
}

/** The result, plus the child process (to signal it mid-run). */
export type RunningCli = Promise<CliResult> & { child: ReturnType<typeof spawn> };

export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string | Buffer): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => err.push(d));
  child.stdin.on("error", () => undefined);
  child.stdin.end(input ?? "");
  const p = new Promise<CliResult>((res) =>
    child.on("close", (code, signal) =>
      res({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }),
    ),
  );
  return Object.assign(p, { child });
}

export function makeSandbox(name = "t"): Sandbox {
  const home = mkdtempSync(join(tmpdir(), `enclave-${name}-home-`));
  const runtimeParent = mkdtempSync(join("/dev/shm", `enclave-${name}-rt-`));
  const runtimeDir = join(runtimeParent, "rt");
  const passFile = join(mkdtempSync(join("/dev/shm", `enclave-${name}-pass-`)), "pass");
  writeFileSync(passFile, `${PASSPHRASE}\n`);
  chmodSync(passFile, 0o600);
  // A clean environment: no inherited ENCLAVE_* or XDG runtime settings leak into the test.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    ENCLAVE_HOME: home,
    ENCLAVE_RUNTIME_DIR: runtimeDir,
  };
  const sb: Sandbox = {
    home,
    runtimeDir,
    passFile,
    env,
    vaultFile: join(home, "vault.enc"),
    run: (args, opts = {}) => runCli(args, { ...env, ...opts.env }, opts.input),
    ok: async (args, opts = {}) => {
      const r = await runCli(args, env, opts.input);
      if (r.code !== 0) throw new Error(`enclave ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
      return r.stdout.toString();
    },
    cleanup: () => {
      for (const d of [home, runtimeParent, dirname(passFile)]) rmSync(d, { recursive: true, force: true });
    },
  };
  return sb;
}

/** A sandbox with an initialised vault (fast KDF) and, optionally, unlocked. */
export async function makeVault(name: string, opts: { unlock?: boolean } = {}): Promise<Sandbox> {
  const sb = makeSandbox(name);
  await sb.ok(["init", "--kdf", FAST_KDF, "--passphrase-file", sb.passFile]);
  if (opts.unlock) await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  return sb;
}
