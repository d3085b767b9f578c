/**
 * Sub-keys of the vault's master key. The KDF output (the master key) is never used directly:
 * HKDF-SHA256 splits it into one key for AES-256-GCM and one for the passphrase check, so the
 * check value reveals nothing about the encryption key.
 */
import { hkdfSync } from "node:crypto";
import { wipe } from "../secure/buffers.js";

export interface VaultSubkeys {
  encryption: Buffer;
  check: Buffer;
}

const INFO_ENCRYPTION = "enclave/v1 encryption";
const INFO_CHECK = "enclave/v1 passphrase check";

export function deriveSubkeys(master: Buffer): VaultSubkeys {
  const hk = (info: string) => Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), info, 32));
  return { encryption: hk(INFO_ENCRYPTION), check: hk(INFO_CHECK) };
}

export function wipeSubkeys(k: VaultSubkeys): void {
  wipe(k.encryption, k.check);
}
