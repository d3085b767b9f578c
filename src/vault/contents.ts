/**
 * What a vault holds once decrypted: metadata, a per-vault fingerprint key, and the secrets.
 * Values are raw bytes (SSH keys, kubeconfigs, binaries) kept in Buffers that `wipe()` zeroes.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { UsageError } from "../errors.js";
import { constantTimeEqual, wipe } from "../secure/buffers.js";
import { assertValidName, FolderIndex } from "./names.js";

export interface SecretRecord {
  value: Buffer;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

/**
 * Non-secret metadata, stored as JSON inside the ciphertext. Unknown keys are kept as they are,
 * so a vault written by a newer enclave (grants, remote bookkeeping) survives a write by this one.
 */
export interface VaultMeta {
  vaultId: string;
  createdAt: string;
  [extension: string]: unknown;
}

export const FINGERPRINT_KEY_LENGTH = 32;

export class VaultContents {
  /** Folder-clash index over the secret names; built on first need, then kept in step. */
  private folders: FolderIndex | undefined;

  constructor(
    public meta: VaultMeta,
    /** HMAC key for fingerprints of secret values (audit, scan); never leaves the ciphertext. */
    public readonly fingerprintKey: Buffer,
    public readonly secrets: Map<string, SecretRecord> = new Map(),
  ) {}

  static create(now = Date.now()): VaultContents {
    return new VaultContents(
      { vaultId: randomUUID(), createdAt: new Date(now).toISOString() },
      randomBytes(FINGERPRINT_KEY_LENGTH),
    );
  }

  get(name: string): SecretRecord | undefined {
    return this.secrets.get(name);
  }

  /** Store a value (the vault takes ownership of the buffer). Returns false if it was unchanged. */
  set(name: string, value: Buffer, now = Date.now()): boolean {
    assertValidName(name);
    const old = this.secrets.get(name);
    if (old && constantTimeEqual(old.value, value)) {
      if (old.value !== value) wipe(value);
      return false;
    }
    if (!old) {
      const clash = this.folderClash(name);
      if (clash)
        throw new UsageError(
          `"${name}" conflicts with the existing secret "${clash}" (a name cannot be both a secret and a folder)`,
        );
      this.folders?.add(name);
    }
    if (old) wipe(old.value);
    this.secrets.set(name, { value, createdAt: old?.createdAt ?? now, updatedAt: now });
    return true;
  }

  /** The existing secret that makes `name` impossible (see FolderIndex), or undefined. */
  folderClash(name: string): string | undefined {
    this.folders ??= new FolderIndex(this.secrets.keys());
    return this.folders.clash(name);
  }

  /**
   * Store a record as it is, times included (sync takes the other side's version of a secret).
   * Name validity and folder clashes are the caller's to check (a merge checks them all at once).
   */
  putRecord(name: string, record: SecretRecord): void {
    const old = this.secrets.get(name);
    if (old) wipe(old.value);
    else this.folders?.add(name);
    this.secrets.set(name, record);
  }

  remove(name: string): boolean {
    const old = this.secrets.get(name);
    if (!old) return false;
    wipe(old.value);
    this.secrets.delete(name);
    this.folders?.remove(name);
    return true;
  }

  /** Names in byte order — the order they are stored in. */
  names(): string[] {
    return [...this.secrets.keys()].sort(compareNames);
  }

  wipe(): void {
    for (const s of this.secrets.values()) wipe(s.value);
    this.secrets.clear();
    wipe(this.fingerprintKey);
  }
}

/**
 * Byte order of names. Valid names are ASCII (see names.ts), where UTF-16 code-unit order — plain
 * string comparison — is byte order, without encoding each name into a Buffer first.
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
