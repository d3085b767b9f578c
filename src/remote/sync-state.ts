/**
 * What the local vault was last synced with: the remote's URL and etag, and a copy of that
 * version's ciphertext (the merge base). Kept in ENCLAVE_HOME/sync/ — ciphertext and hashes only.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { EnclaveError } from "../errors.js";
import { atomicWriteFile } from "../platform/atomic-write.js";

const StateSchema = z.object({
  version: z.literal(1),
  remote: z.string(),
  etag: z.string(),
  /** SHA-256 of the local vault file right after the last push or pull: "has it changed since?" */
  baseSha256: z.string(),
  syncedAt: z.string(),
});
export type SyncState = z.infer<typeof StateSchema>;

export class SyncStateStore {
  private readonly dir: string;
  constructor(home: string) {
    this.dir = join(home, "sync");
  }
  private get stateFile() {
    return join(this.dir, "state.json");
  }
  private get baseFile() {
    return join(this.dir, "base.enc");
  }

  /** The state for `remote`, or undefined if never synced with it (another remote's state is ignored). */
  load(remote: string): SyncState | undefined {
    if (!existsSync(this.stateFile)) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.stateFile, "utf8"));
    } catch {
      throw new EnclaveError(`${this.stateFile} is damaged; remove it and pull again`);
    }
    const r = StateSchema.safeParse(raw);
    if (!r.success) throw new EnclaveError(`${this.stateFile} is damaged; remove it and pull again`);
    return r.data.remote === remote ? r.data : undefined;
  }

  /** The merge base's ciphertext, if kept. */
  base(): Buffer | undefined {
    return existsSync(this.baseFile) ? readFileSync(this.baseFile) : undefined;
  }

  /**
   * Record a sync. `base` is the remote version's ciphertext, or `{ sameAs: vaultFile }` when the
   * local vault file holds exactly that version: then a hard link is enough (vault.enc is only ever
   * replaced by rename, so the linked inode never changes) and a 50 MB vault is not written twice.
   */
  save(state: Omit<SyncState, "version" | "syncedAt">, base: Buffer | { sameAs: string }): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    if (Buffer.isBuffer(base)) atomicWriteFile(this.baseFile, base);
    else {
      const tmp = `${this.baseFile}.${process.pid}.link`;
      rmSync(tmp, { force: true });
      try {
        linkSync(base.sameAs, tmp);
        renameSync(tmp, this.baseFile);
      } catch {
        // A filesystem without hard links: copy instead.
        rmSync(tmp, { force: true });
        atomicWriteFile(this.baseFile, readFileSync(base.sameAs));
      }
    }
    atomicWriteFile(
      this.stateFile,
      Buffer.from(JSON.stringify({ version: 1, ...state, syncedAt: new Date().toISOString() }, null, 2)),
    );
  }
}
