/**
 * One interface for every place a vault syncs to. Implementations move ciphertext only and make
 * every write conditional, so that nobody's push silently overwrites anybody else's.
 */

export interface RemoteObject {
  bytes: Buffer;
  /** Opaque version tag of the current object (S3 ETag; SHA-256 for a path remote). */
  etag: string;
}

export interface RemoteVersion {
  /** What `enclave restore` takes: an S3 version id, or the name of a history copy. */
  id: string;
  modified: string;
  size: number;
  /** This version is the remote's current object. */
  current: boolean;
}

export interface Remote {
  readonly url: string;
  /** Where previous versions live: "s3-versioning", or a history prefix / folder. */
  historyKind(): Promise<string>;
  /**
   * The current object, or undefined when there is none yet. With `ifChanged` (an etag), answers
   * "unchanged" without transferring the object when the remote is still at that version.
   */
  fetch(opts?: { ifChanged?: string }): Promise<RemoteObject | "unchanged" | undefined>;
  /**
   * Write only if the remote is still at `expected` (an etag), or does not exist yet (`null`).
   * Throws ConflictError otherwise. Returns the new etag.
   */
  put(bytes: Buffer, expected: string | null): Promise<string>;
  /**
   * Keep a previous-version copy of what was just put, where the store has no versioning of its
   * own, and prune copies beyond the retention. Separate from put() so that a failure here can
   * never make a successful push look failed.
   */
  keepHistory(bytes: Buffer, etag: string): Promise<void>;
  /** Previous versions, newest first. */
  history(): Promise<RemoteVersion[]>;
  fetchVersion(id: string): Promise<Buffer>;
}

/** How many history copies a remote without native versioning keeps. */
export const DEFAULT_HISTORY_RETENTION = 50;

/** History copies are named so that byte order is time order: `<ISO time>-<etag prefix>`. */
export function historyCopyName(now: Date, etag: string): string {
  return `${now.toISOString().replace(/[:.]/g, "-")}-${etag.replace(/"/g, "").slice(0, 12)}.enc`;
}
