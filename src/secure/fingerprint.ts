/**
 * Fingerprints: how audit records and reports say "this value" without containing it. An HMAC
 * under the vault's own fingerprint key, so equal values compare equal inside one vault, while
 * someone holding the log but not the vault cannot test guesses against it.
 */
import { createHmac } from "node:crypto";

export function fingerprint(key: Buffer, value: Buffer): string {
  return `hmac-sha256:${createHmac("sha256", key).update(value).digest("hex").slice(0, 32)}`;
}
