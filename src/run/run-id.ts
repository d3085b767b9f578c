/**
 * Run ids: sortable by start time, unique without coordination, short enough for an STS
 * session name (`enclave-<id>` ≤ 64 characters) and safe in paths and logs.
 */
import { randomBytes } from "node:crypto";

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(4).toString("hex")}`;
}
