/**
 * A remote on a filesystem path (a USB stick, an NFS mount). Compare-and-swap under a lock
 * directory next to the file (mkdir-based, so it also works over NFS); history copies in
 * `<file>.history/`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { ConflictError, EnclaveError } from "../errors.js";
import { atomicWriteFile } from "../platform/atomic-write.js";
import { withFileLock } from "../platform/file-lock.js";
import { sha256Hex } from "../secure/hash.js";
import {
  DEFAULT_HISTORY_RETENTION,
  historyCopyName,
  type Remote,
  type RemoteObject,
  type RemoteVersion,
} from "./remote.js";

export class FileRemote implements Remote {
  readonly url: string;
  private readonly historyDir: string;

  constructor(
    private readonly path: string,
    private readonly retention = DEFAULT_HISTORY_RETENTION,
  ) {
    this.url = path;
    this.historyDir = `${path}.history`;
  }

  async historyKind(): Promise<string> {
    return this.historyDir;
  }

  async fetch(opts: { ifChanged?: string } = {}): Promise<RemoteObject | "unchanged" | undefined> {
    const current = this.read();
    return current && opts.ifChanged === current.etag ? "unchanged" : current;
  }

  private read(): RemoteObject | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new EnclaveError(`cannot read remote ${this.path}: ${(e as Error).message}`);
    }
    return { bytes, etag: sha256Hex(bytes) };
  }

  async put(bytes: Buffer, expected: string | null): Promise<string> {
    const dir = dirname(this.path);
    try {
      statSync(dir);
    } catch {
      throw new EnclaveError(`remote folder ${dir} does not exist (is the drive mounted?)`);
    }
    return withFileLock(
      `${this.path}.lock`,
      () => {
        const current = this.read();
        // A file deleted since we last saw it is simply created again: that overwrites nothing.
        if (current && current.etag !== expected)
          throw new ConflictError(
            `the remote ${this.path} changed since this copy was based on it; run \`enclave pull\` first, then push`,
          );
        atomicWriteFile(this.path, bytes);
        return sha256Hex(bytes);
      },
      {
        staleMs: 10_000,
        retries: { retries: 50, minTimeout: 20, maxTimeout: 500 },
        busy: {
          what: `the remote ${this.path}`,
          hint: "try again, or remove that lock directory if no enclave process is pushing",
        },
      },
    );
  }

  async history(): Promise<RemoteVersion[]> {
    const current = this.read();
    return this.copies()
      .reverse()
      .map((name) => {
        const st = statSync(join(this.historyDir, name));
        return {
          id: name,
          modified: st.mtime.toISOString(),
          size: st.size,
          current:
            current !== undefined &&
            name.endsWith(`-${current.etag.slice(0, 12)}.enc`) &&
            st.size === current.bytes.length,
        };
      });
  }

  async fetchVersion(id: string): Promise<Buffer> {
    if (basename(id) !== id || !id.endsWith(".enc"))
      throw new EnclaveError(`no version "${id}" in ${this.historyDir}; \`enclave history\` lists them`);
    try {
      return readFileSync(join(this.historyDir, id));
    } catch {
      throw new EnclaveError(`no version "${id}" in ${this.historyDir}; \`enclave history\` lists them`);
    }
  }

  private copies(): string[] {
    try {
      return readdirSync(this.historyDir)
        .filter((f) => f.endsWith(".enc"))
        .sort();
    } catch {
      return [];
    }
  }

  async keepHistory(bytes: Buffer, etag: string): Promise<void> {
    mkdirSync(this.historyDir, { recursive: true, mode: 0o700 });
    atomicWriteFile(join(this.historyDir, historyCopyName(new Date(), etag)), bytes);
    const all = this.copies();
    for (const old of all.slice(0, Math.max(0, all.length - this.retention)))
      rmSync(join(this.historyDir, old), { force: true });
  }
}
