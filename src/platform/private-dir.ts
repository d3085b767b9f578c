/**
 * A directory that holds unlocked material must be ours alone: not a symlink someone could
 * swap, owned by this user, with no group or other access. Checked before and after use.
 */
import { lstatSync } from "node:fs";
import { EnclaveError } from "../errors.js";

export function assertPrivateDir(dir: string, what: string, fix: string): void {
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (st.isSymbolicLink()) throw new EnclaveError(`${what} ${dir} is a symlink; ${fix}`);
  if (!st.isDirectory()) throw new EnclaveError(`${what} ${dir} is not a directory; ${fix}`);
  if (uid !== undefined && st.uid !== uid)
    throw new EnclaveError(`${what} ${dir} belongs to another user (uid ${st.uid}); ${fix}`);
  if ((st.mode & 0o077) !== 0)
    throw new EnclaveError(
      `${what} ${dir} is accessible to others (mode ${(st.mode & 0o777).toString(8)}); ${fix}`,
    );
}
