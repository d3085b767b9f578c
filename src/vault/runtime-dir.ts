/**
 * The RAM directory an unlocked vault is opened into: one file per secret (0600, folders 0700)
 * that scripts can `cat`, plus enclave's own `.enclave/` folder holding the session record and
 * the master key (so `set` can re-encrypt without asking the passphrase again).
 *
 * enclave only ever wipes a directory that carries its `.enclave/` marker, so pointing
 * ENCLAVE_RUNTIME_DIR at the wrong folder cannot destroy someone's files.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, sep } from "node:path";
import { EnclaveError } from "../errors.js";
import { checkMemoryFs } from "../platform/memory-fs.js";
import { assertPrivateDir } from "../platform/private-dir.js";
import { constantTimeEqual, wipe } from "../secure/buffers.js";
import { KEY_LENGTH } from "./kdf.js";
import { nameProblem } from "./names.js";

export const MARKER_DIR = ".enclave";

/** `.enclave/session.json`: written only by enclave, into a private directory. */
export interface SessionInfo {
  version: 1;
  vaultFile: string;
  vaultId: string;
  createdAt: string;
  expiresAt: string;
  link?: string;
}

/** Checked by hand rather than with zod: this runs on every command, and zod takes ~70 ms to load. */
function asSessionInfo(v: unknown): SessionInfo | undefined {
  const o = v as Partial<Record<keyof SessionInfo, unknown>> | null;
  if (typeof o !== "object" || o === null || o.version !== 1) return undefined;
  for (const k of ["vaultFile", "vaultId", "createdAt", "expiresAt"] as const)
    if (typeof o[k] !== "string") return undefined;
  if (Number.isNaN(Date.parse(o.expiresAt as string))) return undefined;
  if (o.link !== undefined && typeof o.link !== "string") return undefined;
  return o as SessionInfo;
}

export interface ActiveSession {
  info: SessionInfo;
  masterKey: Buffer;
}

export interface RuntimeScan {
  /** Secret files found whose bytes differ from the known value (all, without one), by name.
   * Buffers are the caller's to wipe. */
  files: Map<string, Buffer>;
  /** Every valid secret name found, changed or not. */
  present: Set<string>;
  /** Dotfiles (editor swap files and the like): never secrets, discarded on lock. */
  ignored: string[];
  /** Files whose path is not a valid secret name, and symlinks: would be lost on lock. */
  invalid: string[];
  /** Every non-folder entry and every folder seen (folders deepest first), so a wipe right after
   * the scan needs no second walk. */
  entries: { path: string; isFile: boolean }[];
  folders: string[];
}

export class RuntimeDir {
  constructor(readonly dir: string) {}

  private get marker() {
    return join(this.dir, MARKER_DIR);
  }
  private get keyFile() {
    return join(this.marker, "key");
  }
  private get sessionFile() {
    return join(this.marker, "session.json");
  }
  private get reaperFile() {
    return join(this.marker, "reaper.pid");
  }

  /** The pid of this session's expiry reaper, if one was recorded and is still running. */
  liveReaper(): number | undefined {
    try {
      const pid = Number(readFileSync(this.reaperFile, "utf8"));
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  recordReaper(pid: number): void {
    writePrivateFile(this.reaperFile, Buffer.from(String(pid)));
  }

  /**
   * How a secret file is removed: unlinked on tmpfs/ramfs, zeroed first on a disk (--allow-disk).
   * The filesystem is looked up once: a pull that removes many files asks statfs once.
   */
  private removeFile(): (path: string) => void {
    this.inMemory ??= checkMemoryFs(this.dir).inMemory;
    return this.inMemory ? unlinkSync : scrubAndUnlink;
  }
  private inMemory: boolean | undefined;

  secretPath(name: string): string {
    return join(this.dir, ...name.split("/"));
  }

  exists(): boolean {
    return existsSync(this.dir);
  }

  hasMarker(): boolean {
    return existsSync(this.marker);
  }

  /**
   * Refuse a runtime directory that another user could read or swap under us: it must be a real
   * directory (not a symlink), owned by us, with no group/other permissions.
   */
  assertPrivate(): void {
    if (!this.exists()) return;
    assertPrivateDir(this.dir, "runtime directory", "remove it or point ENCLAVE_RUNTIME_DIR elsewhere");
  }

  /** The committed session, if any. Does not judge expiry. */
  readSession(): ActiveSession | undefined {
    if (!existsSync(this.sessionFile)) return undefined;
    let info: SessionInfo | undefined;
    try {
      info = asSessionInfo(JSON.parse(readFileSync(this.sessionFile, "utf8")));
    } catch {
      return undefined;
    }
    if (!info) return undefined;
    let masterKey: Buffer;
    try {
      masterKey = readFileSync(this.keyFile);
    } catch {
      return undefined;
    }
    if (masterKey.length !== KEY_LENGTH) {
      wipe(masterKey);
      return undefined;
    }
    return { info, masterKey };
  }

  /**
   * Create the directory (0700) with its marker. An existing directory must be empty or a
   * previous enclave runtime directory (whose leftovers are wiped first).
   */
  prepare(): void {
    this.assertPrivate();
    if (this.exists()) {
      if (this.hasMarker()) this.wipe();
      else if (readdirSync(this.dir).length > 0)
        throw new EnclaveError(
          `runtime directory ${this.dir} is not empty and was not made by enclave; refusing to use it. ` +
            "Point ENCLAVE_RUNTIME_DIR at an empty or new directory on tmpfs",
        );
    }
    mkdirSync(dirname(this.dir), { recursive: true, mode: 0o700 });
    try {
      mkdirSync(this.dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    // Check again after creating: in a shared folder like /dev/shm another user could have made
    // the directory between our check and our mkdir.
    this.assertPrivate();
    mkdirSync(this.marker, { mode: 0o700 });
  }

  /** Replaced whole (temp file + rename), so a concurrent reader never sees half a key. */
  writeKey(masterKey: Buffer): void {
    const tmp = `${this.keyFile}.${process.pid}.tmp`;
    writePrivateFile(tmp, masterKey);
    renameSync(tmp, this.keyFile);
  }

  /** Writing the session record is the commit point of an unlock: before it, there is no session. */
  writeSession(info: SessionInfo): void {
    writePrivateFile(this.sessionFile, Buffer.from(JSON.stringify(info, null, 2)));
  }

  /** Write every secret; used on a fresh directory (no atomic rename needed: no session yet). */
  materialize(secrets: Iterable<[string, Buffer]>): void {
    const made = new Set<string>([this.dir]);
    for (const [name, value] of secrets) {
      const p = this.secretPath(name);
      this.mkdirs(dirname(p), made);
      writeFileSync(p, value, { mode: 0o600, flag: "wx" });
    }
  }

  /** Replace one secret file atomically, so a reader never sees half a value. */
  writeSecret(name: string, value: Buffer): void {
    const p = this.secretPath(name);
    this.mkdirs(dirname(p), new Set([this.dir]));
    const tmp = join(dirname(p), `.${process.pid}.tmp`);
    writeFileSync(tmp, value, { mode: 0o600, flag: "w" });
    renameSync(tmp, p);
  }

  /** The current bytes of a secret file, or undefined (used to roll back a failed write). */
  readSecret(name: string): Buffer | undefined {
    try {
      return readFileSync(this.secretPath(name));
    } catch {
      return undefined;
    }
  }

  removeSecret(name: string): void {
    const p = this.secretPath(name);
    if (existsSync(p)) this.removeFile()(p);
    // Drop folders the removal left empty, up to the runtime directory itself.
    for (let d = dirname(p); d !== this.dir && d.startsWith(this.dir + sep); d = dirname(d)) {
      if (readdirSync(d).length > 0) break;
      rmdirSync(d);
    }
  }

  /** Everything a user or script left in the directory, for `lock` to save. */
  /**
   * Everything a user or script left in the directory, for `lock` to save. With `known` (the
   * stored value of a name), files whose bytes equal it are only noted as present, not returned:
   * comparing in place saves an allocation and a stat per file on a 10,000-secret vault.
   */
  scan(known: (name: string) => Buffer | undefined = () => undefined): RuntimeScan {
    const out: RuntimeScan = {
      files: new Map(),
      present: new Set(),
      ignored: [],
      invalid: [],
      entries: [],
      folders: [],
    };
    const scratch = { buf: Buffer.alloc(4096) };
    const walk = (d: string, prefix: string) => {
      for (const ent of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, ent.name);
        const rel = prefix + ent.name;
        if (p === this.marker) continue;
        if (ent.isDirectory()) {
          if (ent.name.startsWith(".")) out.ignored.push(rel);
          else {
            walk(p, `${rel}/`);
            out.folders.push(p);
          }
          continue;
        }
        out.entries.push({ path: p, isFile: ent.isFile() });
        if (ent.name.startsWith(".")) out.ignored.push(rel);
        else if (!ent.isFile() || nameProblem(rel)) out.invalid.push(rel);
        else {
          out.present.add(rel);
          const changed = readIfDifferent(p, known(rel), scratch);
          if (changed) out.files.set(rel, changed);
        }
      }
    };
    try {
      walk(this.dir, "");
    } finally {
      wipe(scratch.buf);
    }
    return out;
  }

  /**
   * Remove every file and the directory. Only for marked directories. Files are overwritten with
   * zeros first when the directory is on a disk (--allow-disk); on tmpfs/ramfs an unlinked file's
   * pages go straight back to the kernel, which zeroes them before any reuse, so scrubbing there
   * would only double the cost of locking a large vault.
   */
  wipe(scanned?: RuntimeScan): void {
    if (!this.exists()) return;
    if (!this.hasMarker())
      throw new EnclaveError(`refusing to wipe ${this.dir}: it is not an enclave runtime directory`);
    const remove = this.removeFile();
    if (scanned) {
      // Fast path: remove what the scan saw; anything that appeared since is caught by the walk below.
      if (existsSync(this.keyFile)) remove(this.keyFile);
      for (const e of scanned.entries)
        try {
          (e.isFile ? remove : unlinkSync)(e.path);
        } catch {
          // already gone
        }
      for (const d of scanned.folders)
        try {
          rmdirSync(d);
        } catch {
          // not empty after all: the walk below handles it
        }
    }
    const walk = (d: string) => {
      for (const ent of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, ent.name);
        if (ent.isDirectory()) {
          walk(p);
          rmdirSync(p);
        } else if (ent.isFile()) remove(p);
        else unlinkSync(p);
      }
    };
    // The key goes first: once it is gone, no half-wiped directory can be written back.
    if (existsSync(this.keyFile)) remove(this.keyFile);
    walk(this.dir);
    rmdirSync(this.dir);
  }

  /** mkdir -p with a cache of what exists: one plain mkdir per new folder (10,000 folders add up). */
  private mkdirs(d: string, made: Set<string>): void {
    if (made.has(d)) return;
    this.mkdirs(dirname(d), made);
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    made.add(d);
  }
}

function writePrivateFile(path: string, data: Buffer): void {
  writeFileSync(path, data, { mode: 0o600, flag: "w" });
}

/**
 * The file's bytes if they differ from `expected` (or there is no expected value), else undefined.
 * Reads expected.length + 1 bytes into a reused buffer: a short read that matches means "same".
 */
function readIfDifferent(
  path: string,
  expected: Buffer | undefined,
  scratch: { buf: Buffer },
): Buffer | undefined {
  if (!expected) return readFileSync(path);
  if (scratch.buf.length < expected.length + 1) {
    wipe(scratch.buf);
    scratch.buf = Buffer.alloc(expected.length + 1);
  }
  const fd = openSync(path, "r");
  try {
    const n = readSync(fd, scratch.buf, 0, expected.length + 1, 0);
    if (n === expected.length && constantTimeEqual(scratch.buf.subarray(0, n), expected)) return undefined;
  } finally {
    closeSync(fd);
  }
  return readFileSync(path);
}

/** Zero a file's bytes in place before unlinking it, so its pages do not linger with contents. */
function scrubAndUnlink(path: string): void {
  try {
    const fd = openSync(path, "r+");
    try {
      const size = fstatSync(fd).size;
      const zeros = Buffer.alloc(Math.min(size, 1 << 20));
      for (let off = 0; off < size; off += zeros.length)
        writeSync(fd, zeros, 0, Math.min(zeros.length, size - off), off);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Unreadable or vanished: unlinking is all we can do.
  }
  rmSync(path, { force: true });
}
