/**
 * Rebirth on a blank machine: credentials → pull → unlock. Each step reports what it did; the
 * first failure stops everything and names the step. Running it again on a bootstrapped machine
 * is safe: every step notices what is already done.
 */
import { loadConfig, recordRemote } from "../config/config.js";
import { EnclaveError } from "../errors.js";
import type { AwsOptions } from "../remote/s3-client.js";
import { SyncService } from "../remote/sync.js";
import { parseRemoteUrl } from "../remote/url.js";
import { wipe } from "../secure/buffers.js";
import type { VaultService } from "../vault/service.js";
import { ensureAwsCredentials } from "./aws-login.js";

export interface BootstrapOptions {
  remote: string;
  aws: AwsOptions;
  /** Asked only when the unlock step needs it, on a clean terminal read. */
  readPassphrase: () => Promise<Buffer>;
  ttlMs?: number;
  notice: (m: string) => void;
  env?: NodeJS.ProcessEnv;
}

export interface StepReport {
  step: string;
  result: string;
}

/** A failure, tagged with the step it stopped at; the exit code is the cause's. */
export class BootstrapStepError extends EnclaveError {
  constructor(step: number, of: number, name: string, cause: unknown) {
    const inner = cause instanceof EnclaveError ? cause : undefined;
    super(
      `bootstrap stopped at step ${step}/${of} (${name}): ${(cause as Error).message}`,
      inner?.exitCode ?? 1,
    );
  }
}

export async function bootstrap(vault: VaultService, opts: BootstrapOptions): Promise<StepReport[]> {
  const location = parseRemoteUrl(opts.remote);
  const steps: [string, () => Promise<string>][] = [];
  if (location.kind === "s3")
    steps.push([
      "credentials",
      async () => `AWS identity ${await ensureAwsCredentials(opts.aws, opts.notice, opts.env)}`,
    ]);
  steps.push(["pull", () => pullStep(vault, opts)]);
  steps.push(["unlock", () => unlockStep(vault, opts)]);

  const reports: StepReport[] = [];
  for (const [i, [name, run]] of steps.entries()) {
    try {
      const result = await run();
      reports.push({ step: name, result });
      opts.notice(`step ${i + 1}/${steps.length} (${name}): ${result}`);
    } catch (e) {
      throw new BootstrapStepError(i + 1, steps.length, name, e);
    }
  }
  return reports;
}

async function pullStep(vault: VaultService, opts: BootstrapOptions): Promise<string> {
  const config = loadConfig(vault.paths.configFile);
  if (vault.store.exists() && config.remote && config.remote !== opts.remote)
    throw new EnclaveError(
      `this machine already has a vault synced with ${config.remote}, not ${opts.remote}; ` +
        "use another ENCLAVE_HOME to bootstrap a second vault",
    );
  vault.store.ensureHome();
  recordRemote(vault.paths.configFile, opts.remote, opts.aws);
  const r = await new SyncService(vault, opts.aws, opts.env).pull();
  const said = {
    cloned: "fetched",
    "up-to-date": "already up to date",
    "fast-forward": "updated",
    merged: "merged",
  };
  return `${said[r.status]} ${opts.remote}`;
}

async function unlockStep(vault: VaultService, opts: BootstrapOptions): Promise<string> {
  const status = await vault.status();
  if (status.unlocked) return `already unlocked until ${status.expiresAt}`;
  const pass = await opts.readPassphrase();
  try {
    const r = await vault.unlock(pass, { ttlMs: opts.ttlMs });
    return `${r.secrets} secret(s) in ${r.runtimeDir} until ${r.expiresAt}`;
  } finally {
    wipe(pass);
  }
}
