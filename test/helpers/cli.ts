/**
 * Drive the built CLI as a user would: a child process with its own ENCLAVE_HOME (persistent
 * disk) and ENCLAVE_RUNTIME_DIR (tmpfs), a passphrase file, and captured output. A test file
 * keeps its sandboxes in a sandboxPool(), which removes them when the file's tests are done.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after } from "node:test";
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
  run(args: string[], opts?: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string }): RunningCli;
  /** Run and require exit 0; returns stdout as text. */
  ok(args: string[], opts?: { input?: string | Buffer }): Promise<string>;
  cleanup(): void;
}

/** The result, plus the child process (to signal it mid-run). */
export type RunningCli = Promise<CliResult> & { child: ReturnType<typeof spawn> };

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string | Buffer,
  cwd?: string,
): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: ["pipe", "pipe", "pipe"] });
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
    run: (args, opts = {}) => runCli(args, { ...env, ...opts.env }, opts.input, opts.cwd),
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

/** The secret names `enclave ls --json` lists. */
export async function secretNames(sb: Sandbox): Promise<string[]> {
  return (JSON.parse(await sb.ok(["ls", "--json"])) as { name: string }[]).map((s) => s.name);
}

/** Every regular file under dir, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/**
 * A test file's sandboxes and scratch folders, all removed by a node:test `after` hook that
 * creating the pool registers. Call it once, at the top level of a test file.
 */
export interface SandboxPool {
  /** A blank sandbox (no vault); `env` is added to its environment. */
  sandbox(name: string, env?: NodeJS.ProcessEnv): Sandbox;
  /**
   * A sandbox with an initialised vault (fast KDF), unlocked unless `unlock: false` (or the
   * pool's default says otherwise); `env` is added to its environment once the vault is ready.
   */
  vault(name: string, opts?: { unlock?: boolean; env?: NodeJS.ProcessEnv }): Promise<Sandbox>;
  /** Take over the cleanup of a sandbox made elsewhere, adding `env` to its environment. */
  track(sb: Sandbox, env?: NodeJS.ProcessEnv): Sandbox;
  /** A scratch folder on the persistent disk (os.tmpdir()). */
  tempDir(prefix: string): string;
  /** How many sandboxes the pool holds so far. */
  readonly size: number;
}

export function sandboxPool(
  defaults: {
    /** Whether vault() unlocks when not told (default: true). */
    unlock?: boolean;
    /** Added to every sandbox's environment, before the per-sandbox `env`. */
    env?: NodeJS.ProcessEnv;
  } = {},
): SandboxPool {
  const sandboxes: Sandbox[] = [];
  const dirs: string[] = [];
  after(() => {
    for (const sb of sandboxes) sb.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const track = (sb: Sandbox, env: NodeJS.ProcessEnv = {}): Sandbox => {
    Object.assign(sb.env, defaults.env, env);
    if (!sandboxes.includes(sb)) sandboxes.push(sb);
    return sb;
  };
  return {
    sandbox: (name, env) => track(makeSandbox(name), env),
    vault: async (name, opts = {}) => {
      const sb = makeSandbox(name);
      sandboxes.push(sb); // removed even when init fails
      await sb.ok(["init", "--kdf", FAST_KDF, "--passphrase-file", sb.passFile]);
      if (opts.unlock ?? defaults.unlock ?? true) await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
      return track(sb, opts.env);
    },
    track,
    tempDir: (prefix) => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    get size() {
      return sandboxes.length;
    },
  };
}
