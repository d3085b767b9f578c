import { createHash } from "node:crypto";

/** Hex SHA-256 of ciphertext or files: change detection and etags, never secrets in the clear. */
export function sha256Hex(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}
