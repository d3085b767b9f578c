/**
 * Three-way merge of two vaults by secret, against the version both were based on.
 * Changes to different secrets combine; the same secret changed differently on both sides is a
 * conflict, resolved per secret or for all with "ours"/"theirs". Values are compared in constant
 * time; the plan names secrets, never values.
 */
import { constantTimeEqual } from "../secure/buffers.js";
import type { SecretRecord, VaultContents } from "../vault/contents.js";

export type Side = "ours" | "theirs";

export interface Resolution {
  /** Applies to every conflict (secret or grant) not named in `perSecret` / `perGrant`. */
  all?: Side;
  perSecret?: Map<string, Side>;
  perGrant?: Map<string, Side>;
}

export interface MergePlan {
  /** Secrets to take from theirs (undefined record = delete ours). */
  takeTheirs: Map<string, SecretRecord | undefined>;
  /** Conflicts settled by the resolution, with the side chosen. */
  resolved: Map<string, Side>;
  /** Conflicts the resolution did not settle: nothing may be written while any remain. */
  conflicts: string[];
}

const same = (a?: SecretRecord, b?: SecretRecord) =>
  a === undefined || b === undefined ? a === b : constantTimeEqual(a.value, b.value);

/**
 * `base` undefined means there is no common version (first pull into an existing vault): a
 * secret on one side only is then an addition, and differing values are conflicts.
 */
export function planMerge(
  base: VaultContents | undefined,
  ours: VaultContents,
  theirs: VaultContents,
  resolution: Resolution = {},
): MergePlan {
  const plan: MergePlan = { takeTheirs: new Map(), resolved: new Map(), conflicts: [] };
  const names = new Set([...ours.secrets.keys(), ...theirs.secrets.keys(), ...(base?.secrets.keys() ?? [])]);
  for (const name of [...names].sort()) {
    const o = ours.get(name);
    const t = theirs.get(name);
    if (same(o, t)) continue;
    const b = base?.get(name);
    const oursChanged = base ? !same(o, b) : o !== undefined;
    const theirsChanged = base ? !same(t, b) : t !== undefined;
    if (!oursChanged) {
      plan.takeTheirs.set(name, t);
      continue;
    }
    if (!theirsChanged) continue;
    const side = resolution.perSecret?.get(name) ?? resolution.all;
    if (!side) plan.conflicts.push(name);
    else {
      plan.resolved.set(name, side);
      if (side === "theirs") plan.takeTheirs.set(name, t);
    }
  }
  return plan;
}

/** Apply a conflict-free plan to `ours` (in place). Returns the names whose value changed. */
export function applyMerge(ours: VaultContents, plan: MergePlan): string[] {
  const changed: string[] = [];
  // Deletions first, so a secret that became a folder on their side (or vice versa) fits.
  for (const [name, record] of plan.takeTheirs) if (!record && ours.remove(name)) changed.push(name);
  for (const [name, record] of plan.takeTheirs)
    if (record) {
      ours.putRecord(name, { ...record, value: Buffer.from(record.value) });
      changed.push(name);
    }
  return changed;
}

/**
 * Grants live in the vault's metadata (`meta.grants`, name → grant). They merge by name against
 * the base like secrets do: a grant added, changed or removed on one side only is taken from
 * that side; one changed differently on both sides is a conflict, settled like a secret's (all,
 * or per grant). A grant says where a credential may go: neither side's change is dropped unasked.
 */
export function mergeGrants(
  base: VaultContents | undefined,
  ours: VaultContents,
  theirs: VaultContents,
  resolution: Resolution = {},
): {
  grants: Record<string, unknown>;
  conflicts: string[];
  resolved: Map<string, Side>;
  /** The result holds exactly the remote's grants (in whatever order either side stored them). */
  sameAsTheirs: boolean;
} {
  const map = (c: VaultContents | undefined) => {
    const g = c?.meta.grants;
    return g && typeof g === "object" && !Array.isArray(g) ? (g as Record<string, unknown>) : {};
  };
  const [b, o, t] = [map(base), map(ours), map(theirs)];
  const json = (v: unknown) => (v === undefined ? undefined : JSON.stringify(v));
  const out: Record<string, unknown> = {};
  const conflicts: string[] = [];
  const resolved = new Map<string, Side>();
  let sameAsTheirs = true;
  for (const name of [...new Set([...Object.keys(o), ...Object.keys(t)])].sort()) {
    const [jb, jo, jt] = [json(b[name]), json(o[name]), json(t[name])];
    let pick: unknown;
    if (jo === jt || jt === jb) pick = o[name];
    else if (jo === jb) pick = t[name];
    else {
      const side = resolution.perGrant?.get(name) ?? resolution.all;
      if (!side) conflicts.push(name);
      else resolved.set(name, side);
      pick = side === "theirs" ? t[name] : o[name];
    }
    if (pick !== undefined) out[name] = pick;
    if (json(pick) !== jt) sameAsTheirs = false;
  }
  return { grants: out, conflicts, resolved, sameAsTheirs };
}
