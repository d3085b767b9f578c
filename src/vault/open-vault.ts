/**
 * An opened vault: decrypted contents plus the key material to write it back. Opening with the
 * passphrase runs the KDF; opening with the master key (kept by an unlocked session) does not.
 */
import { randomBytes } from "node:crypto";
import { AuthError, VaultLockedError } from "../errors.js";
import { wipe } from "../secure/buffers.js";
import type { VaultContents } from "./contents.js";
import { openContainer, type ParsedContainer, SALT_LENGTH, sealContainer } from "./format.js";
import { deriveMasterKey, type KdfParams } from "./kdf.js";
import { decodePayload, encodePayload } from "./payload.js";
import type { VaultStore } from "./store.js";

export interface OpenVault {
  contents: VaultContents;
  masterKey: Buffer;
  salt: Buffer;
  kdf: KdfParams;
}

export function closeVault(v: OpenVault): void {
  v.contents.wipe();
  wipe(v.masterKey);
}

/** Encrypt contents into vault-file bytes. */
export function sealVault(v: OpenVault): Buffer {
  const plaintext = encodePayload(v.contents);
  try {
    return sealContainer({ kdf: v.kdf, salt: v.salt, masterKey: v.masterKey, plaintext });
  } finally {
    wipe(plaintext);
  }
}

/** Write the vault back (inside the store's lock). */
export function saveVault(store: VaultStore, v: OpenVault): void {
  store.write(sealVault(v));
}

/** New key material for a passphrase: fresh salt, KDF run. */
export async function newKeyMaterial(
  passphrase: Buffer,
  kdf: KdfParams,
): Promise<Pick<OpenVault, "masterKey" | "salt" | "kdf">> {
  const salt = randomBytes(SALT_LENGTH);
  return { salt, kdf, masterKey: await deriveMasterKey(passphrase, salt, kdf) };
}

export async function openWithPassphrase(store: VaultStore, passphrase: Buffer): Promise<OpenVault> {
  const { parsed } = store.read();
  const { kdf } = parsed.header;
  const salt = Buffer.from(parsed.header.salt);
  const masterKey = await deriveMasterKey(passphrase, salt, kdf);
  return decrypt(store, parsed, masterKey, salt, kdf);
}

/**
 * Open with an unlocked session's master key. If the passphrase was changed elsewhere since the
 * session began, the key no longer fits: that is "locked", not "wrong passphrase".
 */
export function openWithMasterKey(
  store: VaultStore,
  masterKey: Buffer,
  /** The file as already read by the caller, so a 50 MB vault is not read twice. */
  read: ReturnType<VaultStore["read"]> = store.read(),
): OpenVault {
  const { parsed } = read;
  try {
    return decrypt(store, parsed, Buffer.from(masterKey), Buffer.from(parsed.header.salt), parsed.header.kdf);
  } catch (e) {
    if (e instanceof AuthError)
      throw new VaultLockedError(
        "the vault's passphrase changed since it was unlocked; run `enclave unlock` again",
      );
    throw e;
  }
}

function decrypt(
  store: VaultStore,
  parsed: ReturnType<VaultStore["read"]>["parsed"],
  masterKey: Buffer,
  salt: Buffer,
  kdf: KdfParams,
): OpenVault {
  let plaintext: Buffer | undefined;
  try {
    plaintext = openContainer(parsed, masterKey, store.paths.vaultFile);
    return { contents: decodePayload(plaintext, store.paths.vaultFile), masterKey, salt, kdf };
  } catch (e) {
    wipe(masterKey);
    throw e;
  } finally {
    wipe(plaintext);
  }
}

/** Decrypt another copy of the vault (a remote's, a merge base) with a key already at hand. */
export function decryptContents(parsed: ParsedContainer, masterKey: Buffer, label: string): VaultContents {
  const plaintext = openContainer(parsed, masterKey, label);
  try {
    return decodePayload(plaintext, label);
  } finally {
    wipe(plaintext);
  }
}
