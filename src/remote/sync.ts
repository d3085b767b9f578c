/**
 * push, pull, history and restore: the local vault against its remote, without lost updates.
 *
 * - push is a conditional write against the version this copy was based on (exit 5 otherwise);
 * - pull fast-forwards when only the remote changed, merges by secret when both did, and never
 *   replaces the local file before the new content was verified (structure always; decryption
 *   too when the vault is unlocked);
 * - everything runs under the local vault lock, so local writers wait for a sync to finish.
 */
import { type Config, loadConfig } from "../config/config.js";
import { AuthError, ConflictError, EnclaveError, UsageError, VaultLockedError } from "../errors.js";
import { constantTimeEqual } from "../secure/buffers.js";
import { sha256Hex } from "../secure/hash.js";
import type { VaultContents } from "../vault/contents.js";
import { parseContainer } from "../vault/format.js";
import { closeVault, decryptContents, type OpenVault, saveVault } from "../vault/open-vault.js";
import type { VaultService } from "../vault/service.js";
import { applyMerge, mergeGrants, planMerge, type Resolution, type Side } from "./merge.js";
import { openRemote } from "./open-remote.js";
import type { Remote, RemoteVersion } from "./remote.js";
import type { AwsOptions } from "./s3-client.js";
import { SyncStateStore } from "./sync-state.js";

export interface PushResult {
  status: "pushed" | "up-to-date";
  remote: string;
  bytes: number;
  etag?: string;
}

export interface PullResult {
  status: "cloned" | "up-to-date" | "fast-forward" | "merged";
  remote: string;
  /** Secrets whose value changed locally because of the pull. */
  updated: string[];
  /** Conflicts settled by --ours/--theirs/--take. */
  /** Conflicts settled by --ours/--theirs/--take/--take-grant. */
  resolved: { kind: "secret" | "grant"; name: string; side: Side }[];
  /** The local vault now holds changes the remote lacks. */
  needsPush: boolean;
}

export interface RestoreResult {
  version: string;
  remote: string;
  updated: string[];
}

export class SyncService {
  private readonly state: SyncStateStore;
  private loadedConfig: Config | undefined;

  constructor(
    readonly vault: VaultService,
    private readonly aws: AwsOptions = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.state = new SyncStateStore(vault.paths.home);
  }

  /** The configured remote URL; `override` (bootstrap's --remote) wins. */
  remoteUrl(override?: string): string {
    const url = override ?? this.config().remote;
    if (!url)
      throw new UsageError(
        "no remote configured; set one with `enclave remote set s3://BUCKET/KEY` (or a path)",
      );
    return url;
  }

  /** config.yaml, read once per service (a command): push/pull need it twice. */
  private config(): Config {
    this.loadedConfig ??= loadConfig(this.vault.paths.configFile);
    return this.loadedConfig;
  }

  remote(url = this.remoteUrl()): Remote {
    return openRemote(url, this.config(), this.aws, this.env);
  }

  async push(): Promise<PushResult> {
    const url = this.remoteUrl();
    const remote = this.remote(url);
    await this.vault.expireIfDue();
    return this.vault.store.withLock(async () => {
      const { bytes } = this.vault.store.read();
      const sha = sha256Hex(bytes);
      const state = this.state.load(url);
      if (state?.baseSha256 === sha)
        return { status: "up-to-date", remote: url, bytes: bytes.length, etag: state.etag };
      const etag = await remote.put(bytes, state?.etag ?? null);
      // Record the push before anything else can fail: the remote has it now.
      this.state.save({ remote: url, etag, baseSha256: sha }, { sameAs: this.vault.paths.vaultFile });
      try {
        await remote.keepHistory(bytes, etag);
      } catch (e) {
        this.vault.notice(`warning: pushed, but keeping a history copy failed: ${(e as Error).message}`);
      }
      return { status: "pushed", remote: url, bytes: bytes.length, etag };
    });
  }

  async pull(resolution: Resolution = {}, remoteOverride?: string): Promise<PullResult> {
    const url = this.remoteUrl(remoteOverride);
    const remote = this.remote(url);
    await this.vault.expireIfDue();
    return this.vault.store.withLock(async () => {
      const result: PullResult = {
        status: "up-to-date",
        remote: url,
        updated: [],
        resolved: [],
        needsPush: false,
      };
      const known = this.vault.store.exists() ? this.state.load(url) : undefined;
      // A conditional GET: when the remote is still at the version we know, nothing is transferred.
      const theirs = await remote.fetch(known ? { ifChanged: known.etag } : {});
      if (theirs === "unchanged")
        return { ...result, needsPush: sha256Hex(this.vault.store.read().bytes) !== known?.baseSha256 };
      if (!theirs) throw new EnclaveError(`${url} holds no vault yet; \`enclave push\` uploads this one`);
      const parsedTheirs = parseContainer(theirs.bytes, url); // a damaged remote is exit 4, before anything is written
      /** The remote version becomes the merge base; `local` says whether vault.enc now holds exactly it. */
      const remember = (baseSha256: string, local: "same" | "differs" = "same") =>
        this.state.save(
          { remote: url, etag: theirs.etag, baseSha256 },
          local === "same" ? { sameAs: this.vault.paths.vaultFile } : theirs.bytes,
        );

      if (!this.vault.store.exists()) {
        this.vault.store.ensureHome();
        this.vault.store.write(theirs.bytes);
        remember(sha256Hex(theirs.bytes));
        return { ...result, status: "cloned" };
      }

      const v = this.vault.openSessionVault(); // absorbs pending RAM edits into the local file first
      try {
        const localSha = sha256Hex(this.vault.store.read().bytes);
        const state = this.state.load(url);
        if (localSha === sha256Hex(theirs.bytes)) {
          remember(localSha);
          return result;
        }
        if (state?.etag === theirs.etag) return { ...result, needsPush: true };
        const theirsContents = v ? this.decryptTheirs(parsedTheirs, v, url) : undefined;
        try {
          if (state?.baseSha256 === localSha) {
            // Only the remote changed: take it whole.
            result.updated = v && theirsContents ? changedNames(v.contents, theirsContents) : [];
            this.vault.updateRuntimeThenVault(result.updated, theirsContents, () =>
              this.vault.store.write(theirs.bytes),
            );
            remember(sha256Hex(theirs.bytes));
            return { ...result, status: "fast-forward" };
          }
          if (!v || !theirsContents)
            throw new VaultLockedError(
              "both the local vault and the remote changed; run `enclave unlock` so enclave can merge them by secret, then pull again",
            );
          const base = state ? this.decryptBase(v) : undefined;
          if (theirsContents.meta.vaultId !== v.contents.meta.vaultId)
            throw new EnclaveError(
              `${url} holds a different vault (id ${theirsContents.meta.vaultId}, local ${v.contents.meta.vaultId}); ` +
                "refusing to merge them. Use another remote, or another ENCLAVE_HOME to pull it",
            );
          const plan = planMerge(base, v.contents, theirsContents, resolution);
          const grants = mergeGrants(base, v.contents, theirsContents, resolution);
          base?.wipe();
          if (plan.conflicts.length > 0 || grants.conflicts.length > 0)
            throw new ConflictError(conflictMessage(plan.conflicts, grants.conflicts));
          result.updated = applyMerge(v.contents, plan);
          v.contents.meta.grants = grants.grants;
          result.resolved = [
            ...[...plan.resolved].map(([name, side]) => ({ kind: "secret" as const, name, side })),
            ...[...grants.resolved].map(([name, side]) => ({ kind: "grant" as const, name, side })),
          ];
          for (const name of v.contents.secrets.keys()) {
            const clash = v.contents.folderClash(name);
            if (clash)
              throw new ConflictError(
                `the merge would make "${name}" both a secret and a folder ("${clash}"); nothing was changed`,
              );
          }
          // Nothing of ours left that the remote lacks: adopt the remote's file as is.
          const adopt = changedNames(v.contents, theirsContents).length === 0 && grants.sameAsTheirs;
          this.vault.updateRuntimeThenVault(result.updated, v.contents, () =>
            adopt ? this.vault.store.write(theirs.bytes) : saveVault(this.vault.store, v),
          );
          remember(sha256Hex(theirs.bytes), adopt ? "same" : "differs"); // differs: the merge result → push
          result.needsPush = !adopt;
          return { ...result, status: "merged" };
        } finally {
          theirsContents?.wipe();
        }
      } finally {
        if (v) closeVault(v);
      }
    });
  }

  async history(): Promise<{ remote: string; storage: string; versions: RemoteVersion[] }> {
    const url = this.remoteUrl();
    const remote = this.remote(url);
    return { remote: url, storage: await remote.historyKind(), versions: await remote.history() };
  }

  /**
   * Replace the local vault with a previous remote version (verified first). The remote is not
   * touched: the next push makes the restored content its newest version, conditionally as usual.
   */
  async restore(id: string, opts: { force?: boolean } = {}): Promise<RestoreResult> {
    const url = this.remoteUrl();
    const remote = this.remote(url);
    await this.vault.expireIfDue();
    return this.vault.store.withLock(async () => {
      const bytes = await remote.fetchVersion(id);
      const parsed = parseContainer(bytes, `${url} version ${id}`);
      // Edits pending in the RAM directory are saved first, so the check below sees them too.
      const v = this.vault.store.exists() ? this.vault.openSessionVault() : undefined;
      try {
        if (this.vault.store.exists() && !opts.force) {
          const state = this.state.load(url);
          if (!state || state.baseSha256 !== sha256Hex(this.vault.store.read().bytes))
            throw new ConflictError(
              "the local vault has changes that are not on the remote; push them first, or restore with --force to drop them",
            );
        }
        let restored: VaultContents | undefined;
        if (v) {
          try {
            restored = decryptContents(parsed, v.masterKey, `version ${id}`);
          } catch (e) {
            if (e instanceof AuthError)
              throw new VaultLockedError(
                `version ${id} was encrypted under another passphrase; run \`enclave lock\`, restore it, then unlock with that passphrase`,
              );
            throw e;
          }
        }
        this.vault.store.ensureHome();
        const updated = v && restored ? changedNames(v.contents, restored) : [];
        this.vault.updateRuntimeThenVault(updated, restored, () => this.vault.store.write(bytes));
        restored?.wipe();
        return { version: id, remote: url, updated };
      } finally {
        if (v) closeVault(v);
      }
    });
  }

  private decryptTheirs(parsed: ReturnType<typeof parseContainer>, v: OpenVault, url: string): VaultContents {
    try {
      return decryptContents(parsed, v.masterKey, url);
    } catch (e) {
      if (e instanceof AuthError)
        throw new VaultLockedError(
          `${url} does not open with this vault's key: either its passphrase was changed elsewhere, or it is a ` +
            "different vault. Nothing was changed. If the passphrase changed: `enclave lock`, `enclave pull`, then unlock " +
            "with the new passphrase (`enclave history` and `restore` keep the previous versions)",
        );
      throw e;
    }
  }

  /** The last synced version, decrypted; undefined when unknown or not openable (merge without a base). */
  private decryptBase(v: OpenVault): VaultContents | undefined {
    const base = this.state.base();
    if (!base) return undefined;
    try {
      return decryptContents(parseContainer(base), v.masterKey, "merge base");
    } catch {
      return undefined;
    }
  }
}

/** Names whose value differs between two vaults (added, removed or changed). */
function changedNames(a: VaultContents, b: VaultContents): string[] {
  const names = new Set([...a.secrets.keys(), ...b.secrets.keys()]);
  return [...names].filter((n) => {
    const x = a.get(n);
    const y = b.get(n);
    return !x || !y || !constantTimeEqual(x.value, y.value);
  });
}

function conflictMessage(secrets: string[], grants: string[]): string {
  const list = (xs: string[]) => xs.map((n) => `"${n}"`).join(", ");
  const what = [
    secrets.length > 0 ? `secret(s) ${list(secrets)}` : "",
    grants.length > 0 ? `grant(s) ${list(grants)}` : "",
  ].filter(Boolean);
  const how = [
    "--ours or --theirs (all conflicts)",
    secrets.length > 0 ? "--take NAME=ours|theirs per secret" : "",
    grants.length > 0 ? "--take-grant NAME=ours|theirs per grant" : "",
  ].filter(Boolean);
  return `both sides changed ${what.join(" and ")}; nothing was changed. Pull again with ${how.join(", or ")}`;
}
