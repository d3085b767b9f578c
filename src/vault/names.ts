/**
 * Secret names. A name becomes a path under the runtime directory (`a/b` is the file `b` in
 * folder `a`), so names are restricted to what is safe and unambiguous as a relative path.
 * Segments may not start with "." — those are reserved for enclave's own files and for editor
 * droppings (swap files) that must never be mistaken for secrets.
 */
import { UsageError } from "../errors.js";

const SEGMENT = /^[A-Za-z0-9_@+=,:-][A-Za-z0-9._@+=,:-]*$/;
/** The same rule for a whole name at once: the fast path when 10,000 names are decoded. */
const WHOLE_NAME = /^[A-Za-z0-9_@+=,:-][A-Za-z0-9._@+=,:-]*(?:\/[A-Za-z0-9_@+=,:-][A-Za-z0-9._@+=,:-]*)*$/;
export const MAX_NAME_LENGTH = 255;

/** Why the name is not acceptable, or undefined if it is. */
export function nameProblem(name: string): string | undefined {
  // Valid names are ASCII, so their length in characters is their length in bytes.
  if (name.length <= MAX_NAME_LENGTH && WHOLE_NAME.test(name)) return undefined;
  if (name.length === 0) return "the name is empty";
  if (Buffer.byteLength(name) > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} bytes`;
  for (const seg of name.split("/")) {
    if (seg === "") return "the name has an empty path segment (leading, trailing or double '/')";
    if (!SEGMENT.test(seg))
      return `segment "${seg}" must start with a letter, digit or one of _@+=,:- and contain only those and '.'`;
  }
  return undefined;
}

export function assertValidName(name: string): void {
  const p = nameProblem(name);
  if (p) throw new UsageError(`invalid secret name: ${p}`);
}

/**
 * A name cannot be both a secret and a folder of secrets (`db` and `db/password`), since the
 * runtime directory would need `db` to be a file and a directory at once. This index answers
 * "would this name clash?" in O(depth of the name), however many names it holds.
 */
export class FolderIndex {
  private readonly names = new Set<string>();
  /** How many names each folder holds ("a" and "a/b" for "a/b/c"). */
  private readonly folders = new Map<string, number>();

  constructor(names: Iterable<string> = []) {
    for (const n of names) this.add(n);
  }

  /** The existing name that makes `name` impossible, or undefined. */
  clash(name: string): string | undefined {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join("/");
      if (this.names.has(prefix)) return prefix;
    }
    if (this.folders.has(name))
      for (const other of this.names) if (other.startsWith(`${name}/`)) return other;
    return undefined;
  }

  add(name: string): void {
    if (this.names.has(name)) return;
    this.names.add(name);
    this.count(name, 1);
  }

  remove(name: string): void {
    if (this.names.delete(name)) this.count(name, -1);
  }

  private count(name: string, delta: 1 | -1): void {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) {
      const f = parts.slice(0, i).join("/");
      const n = (this.folders.get(f) ?? 0) + delta;
      if (n > 0) this.folders.set(f, n);
      else this.folders.delete(f);
    }
  }
}
