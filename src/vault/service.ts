/**
 * The vault's typed API: everything the `enclave` vault commands do, without any terminal I/O.
 * The CLI turns arguments into calls here and results into output.
 *
 * Invariants kept here:
 *  - the encrypted vault file is the source of truth; the RAM directory is a view of it;
 *  - every change reaches the vault file at once (atomically), under the vault lock;
 *  - a change is written to the RAM view *before* the vault file, so a crash in between leaves a
 *    pending change that `lock` saves, never a stale RAM file that `lock` would write back.
 */
import { existsSync, lstatSync, readlinkSync, renameSync, symlinkSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { loadConfig, recordRemote } from "../config/config.js";
import { parseDuration } from "../config/duration.js";
import { type EnclavePaths, resolvePaths } from "../config/paths.js";
import { EnclaveError, NotInitializedError, UsageError, VaultLockedError } from "../errors.js";
import { activeSwap, checkMemoryFs } from "../platform/memory-fs.js";
import { wipe } from "../secure/buffers.js";
import { VaultContents } from "./contents.js";
import { DEFAULT_KDF, describeKdf, type KdfParams } from "./kdf.js";
import {
  closeVault,
  newKeyMaterial,
  type OpenVault,
  openWithMasterKey,
  openWithPassphrase,
  saveVault,
} from "./open-vault.js";
import { type ActiveSession, RuntimeDir, type RuntimeScan } from "./runtime-dir.js";
import { VaultStore } from "./store.js";

export const MIN_PASSPHRASE_BYTES = 8;
export const DEFAULT_TTL_MS = 8 * 3_600_000;

export interface ServiceOptions {
  env?: NodeJS.ProcessEnv;
  /** Receives warnings and notices (swap active, session expired…); the CLI prints them. */
  notice?: (message: string) => void;
  now?: () => number;
}

export interface UnlockOptions {
  ttlMs?: number;
  /** Make a symlink at this path pointing to the runtime directory. */
  link?: string;
  /** Accept a runtime directory that is not on tmpfs/ramfs. */
  allowDisk?: boolean;
}

export interface UnlockResult {
  runtimeDir: string;
  expiresAt: string;
  secrets: number;
  link?: string;
  alreadyUnlocked: boolean;
}

export interface LockResult {
  wasUnlocked: boolean;
  added: string[];
  changed: string[];
  removed: string[];
  discarded: string[];
}

export interface VaultStatus {
  initialized: boolean;
  unlocked: boolean;
  home: string;
  vaultFile: string;
  runtimeDir: string;
  expiresAt: string | null;
  link: string | null;
  remote: string | null;
  secrets: number | null;
  kdf: string | null;
  swapActive: boolean;
}

export interface SetOutcome {
  name: string;
  created: boolean;
  /** False when the stored value was already identical. */
  changed: boolean;
}

export interface SecretListing {
  name: string;
  size: number;
  createdAt: string;
  updatedAt: string;
}

export class VaultService {
  readonly paths: EnclavePaths;
  readonly store: VaultStore;
  readonly runtime: RuntimeDir;
  /** Where warnings and notices go (the CLI prints them on stderr). */
  readonly notice: (m: string) => void;
  private readonly now: () => number;

  constructor(opts: ServiceOptions = {}) {
    this.paths = resolvePaths(opts.env ?? process.env);
    this.store = new VaultStore(this.paths);
    this.runtime = new RuntimeDir(this.paths.runtimeDir);
    this.notice = opts.notice ?? (() => undefined);
    this.now = opts.now ?? Date.now;
  }

  async init(
    passphrase: Buffer,
    opts: { kdf?: KdfParams; remote?: string } = {},
  ): Promise<{ vaultFile: string; kdf: string }> {
    assertPassphraseStrength(passphrase);
    loadConfig(this.paths.configFile); // a malformed config fails before anything is written
    const refuse = () =>
      new EnclaveError(
        `a vault already exists at ${this.paths.vaultFile}; refusing to overwrite it. ` +
          "Use another ENCLAVE_HOME for a second vault, or remove that file yourself if you really mean to",
      );
    if (this.store.exists()) throw refuse();
    const kdf = opts.kdf ?? DEFAULT_KDF;
    return this.store.withLock(async () => {
      if (this.store.exists()) throw refuse();
      const v: OpenVault = {
        contents: VaultContents.create(this.now()),
        ...(await newKeyMaterial(passphrase, kdf)),
      };
      try {
        saveVault(this.store, v);
      } finally {
        closeVault(v);
      }
      if (opts.remote) recordRemote(this.paths.configFile, opts.remote);
      return { vaultFile: this.paths.vaultFile, kdf: describeKdf(kdf) };
    });
  }

  async unlock(passphrase: Buffer, opts: UnlockOptions = {}): Promise<UnlockResult> {
    this.requireInitialized();
    const configuredTtl = loadConfig(this.paths.configFile).unlockTtl;
    const ttlMs =
      opts.ttlMs ??
      (configuredTtl ? parseDuration(configuredTtl, "unlockTtl in config.yaml") : DEFAULT_TTL_MS);
    await this.expireIfDue();
    const fs = checkMemoryFs(this.paths.runtimeDir);
    if (!fs.inMemory) {
      if (!opts.allowDisk)
        throw new EnclaveError(
          `runtime directory ${this.paths.runtimeDir} is on ${fs.type}, not tmpfs/ramfs: decrypted secrets would reach a disk. ` +
            "Point ENCLAVE_RUNTIME_DIR at a tmpfs (e.g. /dev/shm/…), or pass --allow-disk to accept the risk",
        );
      this.notice(
        `warning: ${this.paths.runtimeDir} is not in RAM (${fs.type}); decrypted secrets will be written to disk`,
      );
    }
    const swap = activeSwap();
    if (swap.length > 0)
      this.notice(
        `warning: swap is active (${swap.join(", ")}): secrets in RAM may be paged to disk; consider encrypted swap or swapoff`,
      );
    this.runtime.assertPrivate();

    return this.store.withLock(async () => {
      const v = await openWithPassphrase(this.store, passphrase);
      try {
        const expiresAt = new Date(this.now() + ttlMs).toISOString();
        const link = opts.link ? resolve(opts.link) : undefined;
        const existing = this.sessionForThisVault();
        if (existing) {
          // Already open: the passphrase was checked above; extend the TTL, keep the files as they
          // are, and refresh the key (it is stale if the passphrase was changed from another session).
          const info = { ...existing.info, expiresAt, ...(link ? { link } : {}) };
          wipe(existing.masterKey);
          this.runtime.writeKey(v.masterKey);
          if (link) this.makeLink(link);
          this.runtime.writeSession(info);
          return {
            runtimeDir: this.runtime.dir,
            expiresAt,
            secrets: v.contents.secrets.size,
            link: info.link,
            alreadyUnlocked: true,
          };
        }
        this.runtime.prepare();
        this.runtime.writeKey(v.masterKey);
        this.runtime.materialize([...v.contents.secrets].map(([n, s]) => [n, s.value]));
        if (link) this.makeLink(link);
        this.runtime.writeSession({
          version: 1,
          vaultFile: this.paths.vaultFile,
          vaultId: v.contents.meta.vaultId,
          createdAt: new Date(this.now()).toISOString(),
          expiresAt,
          ...(link ? { link } : {}),
        });
        return {
          runtimeDir: this.runtime.dir,
          expiresAt,
          secrets: v.contents.secrets.size,
          link,
          alreadyUnlocked: false,
        };
      } catch (e) {
        const committed = this.sessionForThisVault();
        wipe(committed?.masterKey);
        if (!committed && this.runtime.hasMarker()) this.runtime.wipe();
        throw e;
      } finally {
        closeVault(v);
      }
    });
  }

  /** Save what changed in the RAM directory, then wipe it. Idempotent: locking a locked vault is fine. */
  async lock(opts: { discard?: boolean } = {}): Promise<LockResult> {
    return this.store.withLock(() => this.lockHeld(opts));
  }

  async status(): Promise<VaultStatus> {
    const config = loadConfig(this.paths.configFile);
    await this.expireIfDue();
    const initialized = this.store.exists();
    let kdf: string | null = null;
    const read = initialized ? this.store.read() : undefined;
    if (read) kdf = describeKdf(read.parsed.header.kdf);
    const session = initialized ? this.sessionForThisVault() : undefined;
    let secrets: number | null = null;
    if (session && read) {
      const v = openWithMasterKey(this.store, session.masterKey, read);
      wipe(session.masterKey);
      secrets = v.contents.secrets.size;
      closeVault(v);
    }
    return {
      initialized,
      unlocked: session !== undefined,
      home: this.paths.home,
      vaultFile: this.paths.vaultFile,
      runtimeDir: this.paths.runtimeDir,
      expiresAt: session?.info.expiresAt ?? null,
      link: session?.info.link ?? null,
      remote: config.remote ?? null,
      secrets,
      kdf,
      swapActive: activeSwap().length > 0,
    };
  }

  /** Store a value; the service takes ownership of `value` and wipes it. */
  async set(name: string, value: Buffer): Promise<{ created: boolean; changed: boolean }> {
    const [r] = await this.setMany([{ name, value }], { overwrite: true });
    return { created: r!.created, changed: r!.changed };
  }

  /**
   * Store several secrets in one vault write: all of them or none (an invalid name, a clash
   * without `overwrite`, a folder conflict or a failed write leaves the vault as it was).
   * The service takes ownership of every value and wipes it.
   */
  async setMany(
    entries: { name: string; value: Buffer }[],
    opts: { overwrite?: boolean } = {},
  ): Promise<SetOutcome[]> {
    try {
      return await this.withUnlocked(true, (v) => {
        const clashes = opts.overwrite
          ? []
          : entries.filter((e) => v.contents.secrets.has(e.name)).map((e) => e.name);
        if (clashes.length > 0)
          throw new EnclaveError(
            `nothing was stored: ${clashes.length} name(s) already exist: ${clashes.slice(0, 20).join(", ")}` +
              `${clashes.length > 20 ? ", …" : ""}. Allow overwriting, or choose other names`,
          );
        const now = this.now();
        const outcomes: SetOutcome[] = entries.map((e) => {
          const created = !v.contents.secrets.has(e.name);
          // The vault owns its own copy; a failure below discards the in-memory contents whole.
          return { name: e.name, created, changed: v.contents.set(e.name, Buffer.from(e.value), now) };
        });
        const changed = outcomes.filter((o) => o.changed).map((o) => o.name);
        if (changed.length > 0)
          this.updateRuntimeThenVault(changed, v.contents, () => saveVault(this.store, v));
        return outcomes;
      });
    } finally {
      for (const e of entries) wipe(e.value);
    }
  }

  /** A copy of the value; the caller wipes it. */
  async get(name: string): Promise<Buffer> {
    return this.withUnlocked(false, (v) => Buffer.from(this.requireSecret(v, name).value));
  }

  /** Every secret with a copy of its value, for `scan --known`; the caller wipes the values. */
  async allSecrets(): Promise<{ name: string; value: Buffer }[]> {
    return this.withUnlocked(false, (v) =>
      v.contents.names().map((name) => ({ name, value: Buffer.from(v.contents.get(name)!.value) })),
    );
  }

  async list(): Promise<SecretListing[]> {
    return this.withUnlocked(false, (v) =>
      v.contents.names().map((name) => {
        const s = v.contents.secrets.get(name)!;
        return {
          name,
          size: s.value.length,
          createdAt: new Date(s.createdAt).toISOString(),
          updatedAt: new Date(s.updatedAt).toISOString(),
        };
      }),
    );
  }

  async remove(name: string): Promise<void> {
    return this.withUnlocked(true, (v) => {
      this.requireSecret(v, name);
      v.contents.remove(name);
      this.updateRuntimeThenVault([name], v.contents, () => saveVault(this.store, v));
    });
  }

  /**
   * Read access to the open contents (grants in the metadata, the fingerprint key, values for a
   * run). Everything is wiped when `fn` returns: it must copy what it keeps.
   */
  async inspect<T>(fn: (c: VaultContents) => T | Promise<T>): Promise<T> {
    return this.withUnlocked(false, (v) => fn(v.contents));
  }

  /** Change the vault's metadata (grants) in one atomic write; secrets are not touched. */
  async updateMeta<T>(fn: (c: VaultContents) => T): Promise<T> {
    return this.withUnlocked(true, (v) => {
      const result = fn(v.contents);
      saveVault(this.store, v);
      return result;
    });
  }

  /** Re-encrypt under a new passphrase (new salt; optionally new KDF parameters). */
  async passwd(current: Buffer, next: Buffer, kdf?: KdfParams): Promise<{ kdf: string }> {
    assertPassphraseStrength(next);
    return this.withUnlocked(true, async (v) => {
      // The session proves someone unlocked the vault; changing the passphrase needs the passphrase.
      const check = await openWithPassphrase(this.store, current);
      closeVault(check);
      const material = await newKeyMaterial(next, kdf ?? v.kdf);
      const updated: OpenVault = { ...v, ...material };
      saveVault(this.store, updated);
      this.runtime.writeKey(material.masterKey);
      wipe(v.masterKey);
      v.masterKey = material.masterKey; // closed (wiped) by withUnlocked
      return { kdf: describeKdf(material.kdf) };
    });
  }

  // ---- internals ----

  /** Throws exit 6 "no vault" when there is none (the CLI checks before prompting). */
  requireInitialized(): void {
    if (!this.store.exists()) throw new NotInitializedError(this.paths.home);
  }

  /** Throws exit 6 when there is no vault or it is locked (the CLI checks before prompting). */
  async requireUnlocked(): Promise<void> {
    this.requireInitialized();
    await this.expireIfDue();
    const s = this.sessionForThisVault();
    if (!s) throw new VaultLockedError();
    wipe(s.masterKey);
  }

  private requireSecret(v: OpenVault, name: string) {
    const s = v.contents.get(name);
    if (!s) throw new EnclaveError(`no secret named "${name}"; \`enclave ls\` lists them`);
    return s;
  }

  /** The runtime directory's session, if it belongs to this vault (another home may share the directory). */
  private sessionForThisVault(): ActiveSession | undefined {
    const s = this.runtime.readSession();
    if (s && s.info.vaultFile !== this.paths.vaultFile) {
      wipe(s.masterKey);
      throw new EnclaveError(
        `runtime directory ${this.runtime.dir} holds the unlocked vault ${s.info.vaultFile}, not ${this.paths.vaultFile}; ` +
          "lock that one first (with its ENCLAVE_HOME) or set ENCLAVE_RUNTIME_DIR to another directory",
      );
    }
    return s;
  }

  private isExpired(s: ActiveSession): boolean {
    return Date.parse(s.info.expiresAt) <= this.now();
  }

  /**
   * When this vault's session ends (ISO time), or undefined when it is not unlocked here.
   * For the expiry reaper, which must not hold key material while it waits.
   */
  sessionExpiry(): string | undefined {
    const s = this.runtime.readSession();
    if (!s) return undefined;
    wipe(s.masterKey);
    return s.info.vaultFile === this.paths.vaultFile ? s.info.expiresAt : undefined;
  }

  /**
   * A session past its TTL counts as locked: save its pending changes and wipe it now.
   * Every command calls this first; the reaper calls it at the expiry time.
   */
  async expireIfDue(): Promise<void> {
    const s = this.runtime.readSession();
    if (!s) return;
    const due = s.info.vaultFile === this.paths.vaultFile && this.isExpired(s);
    wipe(s.masterKey);
    if (!due) return;
    await this.store.withLock(async () => {
      const again = this.runtime.readSession();
      if (!again || !this.isExpired(again)) return wipe(again?.masterKey);
      wipe(again.masterKey);
      const r = await this.lockHeld({});
      const saved = r.added.length + r.changed.length + r.removed.length;
      this.notice(
        `the session expired at ${s.info.expiresAt}; the vault is locked now` +
          (saved ? ` (${saved} pending change(s) saved first)` : ""),
      );
    });
  }

  private async withUnlocked<T>(write: boolean, fn: (v: OpenVault) => T | Promise<T>): Promise<T> {
    this.requireInitialized();
    await this.expireIfDue();
    const run = async () => {
      const s = this.sessionForThisVault();
      if (!s) throw new VaultLockedError();
      const v = openWithMasterKey(this.store, s.masterKey);
      wipe(s.masterKey);
      try {
        return await fn(v);
      } finally {
        closeVault(v);
      }
    };
    // Reads need no lock: the vault file is only ever replaced whole, by rename.
    return write ? this.store.withLock(run) : run();
  }

  private async lockHeld(opts: { discard?: boolean }): Promise<LockResult> {
    const result: LockResult = { wasUnlocked: false, added: [], changed: [], removed: [], discarded: [] };
    if (!this.runtime.exists() || !this.runtime.hasMarker()) return result;
    const s = this.runtime.readSession();
    if (s && s.info.vaultFile !== this.paths.vaultFile) {
      wipe(s.masterKey);
      this.sessionForThisVault(); // throws the explanatory error
    }
    result.wasUnlocked = s !== undefined;
    let scanned: RuntimeScan | undefined;
    if (s && !opts.discard) {
      let v: OpenVault;
      try {
        v = openWithMasterKey(this.store, s.masterKey);
      } catch (e) {
        throw new EnclaveError(
          `cannot save pending changes before locking: ${(e as Error).message}. ` +
            "Nothing was wiped; `enclave lock --discard` wipes the RAM copy without saving",
          e instanceof EnclaveError ? e.exitCode : 1,
        );
      } finally {
        wipe(s.masterKey);
      }
      try {
        scanned = this.savePendingChanges(v, result);
      } finally {
        closeVault(v);
      }
    } else if (s) wipe(s.masterKey);
    if (s?.info.link) this.removeLink(s.info.link);
    this.runtime.wipe(scanned);
    return result;
  }

  /**
   * For sync, called while holding the vault lock: the unlocked vault, with edits pending in the
   * RAM directory absorbed and saved first (so a pull cannot overwrite them); undefined when locked.
   * The caller closes it.
   */
  openSessionVault(): OpenVault | undefined {
    const s = this.sessionForThisVault();
    if (!s) return undefined;
    if (this.isExpired(s)) {
      wipe(s.masterKey);
      return undefined;
    }
    const v = openWithMasterKey(this.store, s.masterKey);
    wipe(s.masterKey);
    try {
      this.savePendingChanges(v, { wasUnlocked: true, added: [], changed: [], removed: [], discarded: [] });
    } catch (e) {
      closeVault(v);
      throw e;
    }
    return v;
  }

  /** Rewrite (or remove) the RAM files of `names` to match `contents`. */
  refreshRuntime(contents: VaultContents, names: Iterable<string>): void {
    for (const name of names) {
      const s = contents.get(name);
      if (s) this.runtime.writeSecret(name, s.value);
      else this.runtime.removeSecret(name);
    }
  }

  /**
   * Change the RAM view of `names` to `next`, then run `writeVault`; if that fails, put the RAM
   * files back as they were. The order is the service's rule: a crash in between leaves a pending
   * change that `lock` saves, never a stale RAM file that `lock` would write back over the vault.
   */
  updateRuntimeThenVault(names: string[], next: VaultContents | undefined, writeVault: () => void): void {
    if (!next || names.length === 0) {
      writeVault(); // locked (no RAM view), or nothing in it changes
      return;
    }
    const before = new Map(names.map((n) => [n, this.runtime.readSecret(n)]));
    try {
      this.refreshRuntime(next, names);
      writeVault();
    } catch (e) {
      for (const [n, old] of before) old ? this.runtime.writeSecret(n, old) : this.runtime.removeSecret(n);
      throw e;
    } finally {
      for (const old of before.values()) wipe(old);
    }
  }

  private savePendingChanges(v: OpenVault, result: LockResult): RuntimeScan {
    const scan = this.runtime.scan((name) => v.contents.get(name)?.value);
    try {
      if (scan.invalid.length > 0)
        throw new EnclaveError(
          `these files in ${this.runtime.dir} are not valid secret names (or are links) and would be lost: ` +
            `${scan.invalid.join(", ")}. Rename or move them, or \`enclave lock --discard\` to wipe without saving`,
        );
      const now = this.now();
      for (const [name, bytes] of scan.files) {
        (v.contents.get(name) ? result.changed : result.added).push(name);
        v.contents.set(name, Buffer.from(bytes), now);
      }
      for (const name of v.contents.names())
        if (!scan.present.has(name)) {
          result.removed.push(name);
          v.contents.remove(name);
        }
      result.discarded = scan.ignored;
      if (result.added.length + result.changed.length + result.removed.length > 0) saveVault(this.store, v);
      return scan;
    } finally {
      for (const b of scan.files.values()) wipe(b);
    }
  }

  private makeLink(link: string): void {
    if (existsSync(link) || isSymlink(link)) {
      if (!isSymlink(link))
        throw new UsageError(
          `--link ${link}: a file or directory is already there; choose another path or remove it`,
        );
    }
    // Replace atomically: a symlink under a temporary name, renamed over the old one.
    const tmp = join(dirname(link), `.${process.pid}.enclave-link`);
    symlinkSync(this.runtime.dir, tmp);
    renameSync(tmp, link);
  }

  private removeLink(link: string): void {
    if (isSymlink(link) && resolve(dirname(link), readlinkSync(link)) === this.runtime.dir) unlinkSync(link);
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

export function assertPassphraseStrength(passphrase: Buffer): void {
  if (passphrase.length < MIN_PASSPHRASE_BYTES)
    throw new UsageError(
      `the passphrase must be at least ${MIN_PASSPHRASE_BYTES} bytes long; choose a longer one`,
    );
}
