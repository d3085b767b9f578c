/**
 * A directory that holds unlocked material must be ours alone: not a symlink someone could
 * swap, owned by this user, with no group or other access. Checked before and after use. A file
 * that holds a secret (a run's credential token) must pass the same owner and mode checks.
 */
import { lstatSync, type Stats } from "node:fs";
import { EnclaveError } from "../errors.js";

/**
 * Why `st` may not hold private material, or undefined when it may: a symlink, not of the
 * expected kind, another user's, or open to group or others. The text follows the path in a
 * message ("… is a symlink").
 */
export function privacyProblem(st: Stats, kind: "directory" | "file"): string | undefined {
  const uid = process.getuid?.();
  if (st.isSymbolicLink()) return "is a symlink";
  if (kind === "directory" ? !st.isDirectory() : !st.isFile())
    return kind === "directory" ? "is not a directory" : "is not a regular file";
  if (uid !== undefined && st.uid !== uid) return `belongs to another user (uid ${st.uid})`;
  if ((st.mode & 0o077) !== 0) return `is accessible to others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

export function assertPrivateDir(dir: string, what: string, fix: string): void {
  const problem = privacyProblem(lstatSync(dir), "directory");
  if (problem) throw new EnclaveError(`${what} ${dir} ${problem}; ${fix}`);
}
