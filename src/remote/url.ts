/** Parse a `--remote` value: `s3://bucket/key`, `file:///path`, or a plain filesystem path. */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../errors.js";

export type RemoteLocation = { kind: "s3"; bucket: string; key: string } | { kind: "file"; path: string };

export function parseRemoteUrl(url: string): RemoteLocation {
  if (url.startsWith("s3://")) {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(url);
    if (!m || m[2]!.endsWith("/"))
      throw new UsageError(
        `remote "${url}": expected s3://BUCKET/KEY (a bucket name and an object key, e.g. s3://my-bucket/enclave/vault.enc)`,
      );
    return { kind: "s3", bucket: m[1]!, key: m[2]! };
  }
  if (url.startsWith("file://")) {
    try {
      return { kind: "file", path: fileURLToPath(url) };
    } catch (e) {
      throw new UsageError(`remote "${url}": ${(e as Error).message}`);
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    throw new UsageError(`remote "${url}": unsupported scheme; use s3://BUCKET/KEY, file:///PATH or a path`);
  if (url.trim() === "") throw new UsageError("remote is empty");
  return { kind: "file", path: resolve(url) };
}
