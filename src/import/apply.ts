/**
 * Putting imported secrets into the enclave vault (any source: TazPod today). Every check — names
 * with the prefix, clashes with existing secrets, folder conflicts — runs before the first write,
 * so a refused import writes nothing. The write is one VaultService.setMany: all or nothing.
 */
import { EnclaveError, UsageError } from "../errors.js";
import { wipe } from "../secure/buffers.js";
import { FolderIndex, nameProblem } from "../vault/names.js";
import type { VaultService } from "../vault/service.js";
import type { SkippedEntry } from "./tar-reader.js";

export interface IncomingSecret {
  /** Where it came from (an archive entry), for reports. */
  entry: string;
  name: string;
  /** The value; importSecrets takes ownership and wipes it. */
  value: Buffer;
}

export interface ImportOptions {
  prefix?: string;
  overwrite?: boolean;
  dryRun?: boolean;
}

export interface ImportItem {
  name: string;
  size: number;
  /** "overwrite": a secret of that name exists (allowed only with --overwrite). */
  action: "create" | "overwrite";
  /** After a real import: false when the stored value was already identical. */
  changed?: boolean;
}

/** What was (or, with dryRun, would be) imported. Never holds values. */
export interface ImportResult {
  dryRun: boolean;
  prefix: string | null;
  secrets: ImportItem[];
  skipped: SkippedEntry[];
  /** Names that already exist in the vault. */
  clashes: string[];
  /** Why the real import would be refused (dry runs only; a real run throws it). */
  refusal: string | null;
}

/** `--prefix a/b/` → "a/b"; usage error (exit 2) when it is not a valid name. */
export function normalizePrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined) return undefined;
  const p = prefix.replace(/\/+$/, "");
  const problem = nameProblem(p);
  if (problem) throw new UsageError(`--prefix ${JSON.stringify(prefix)}: ${problem}`);
  return p;
}

interface Plan {
  items: ImportItem[];
  /** values[i] belongs to items[i]. */
  values: Buffer[];
  skipped: SkippedEntry[];
  clashes: string[];
  /** Names that would need an existing secret to be a folder, or the other way round. */
  conflicts: string[];
}

/** Decide, without writing, what each incoming secret becomes. Values move into the plan. */
function makePlan(incoming: IncomingSecret[], existing: string[], prefix: string | undefined): Plan {
  const plan: Plan = { items: [], values: [], skipped: [], clashes: [], conflicts: [] };
  const have = new Set(existing);
  const index = new FolderIndex(existing);
  for (const s of incoming) {
    const name = prefix ? `${prefix}/${s.name}` : s.name;
    const problem = nameProblem(name);
    if (problem) {
      plan.skipped.push({ entry: s.entry, reason: `with the prefix, not a valid enclave name: ${problem}` });
      wipe(s.value);
      continue;
    }
    const clash = have.has(name);
    if (clash) plan.clashes.push(name);
    const other = clash ? undefined : index.clash(name);
    if (other) plan.conflicts.push(`${name} (the vault has ${other})`);
    plan.items.push({ name, size: s.value.length, action: clash ? "overwrite" : "create" });
    plan.values.push(s.value);
  }
  return plan;
}

/** Why this plan must not be applied, or undefined. */
function refusalOf(plan: Plan, overwrite: boolean): EnclaveError | undefined {
  if (plan.conflicts.length > 0)
    return new EnclaveError(
      `nothing was imported: a name cannot be both a secret and a folder: ${listed(plan.conflicts)}. ` +
        "Import under another --prefix",
    );
  if (plan.clashes.length > 0 && !overwrite)
    return new EnclaveError(
      `nothing was imported: ${plan.clashes.length} name(s) already exist in the vault: ${listed(plan.clashes)}. ` +
        "Use --overwrite to replace them, or --prefix P to import under P/",
    );
  return undefined;
}

/** Store every planned secret in one vault write: all of them, or none if anything fails. */
async function applyPlan(svc: VaultService, plan: Plan): Promise<void> {
  const outcomes = await svc.setMany(
    plan.items.map((item, i) => ({ name: item.name, value: plan.values[i]! })),
    { overwrite: true }, // clashes were already refused (or allowed with --overwrite) by refusalOf
  );
  outcomes.forEach((o, i) => {
    plan.items[i]!.changed = o.changed;
  });
}

/**
 * Import secrets into the unlocked vault: plan, refuse (clashes without `overwrite`, folder
 * conflicts) or apply. With `dryRun` nothing is written and the refusal, if any, is returned.
 * Takes ownership of every incoming value and wipes it in all cases.
 */
export async function importSecrets(
  svc: VaultService,
  incoming: IncomingSecret[],
  skipped: SkippedEntry[],
  opts: ImportOptions = {},
): Promise<ImportResult> {
  let plan: Plan | undefined;
  try {
    const prefix = normalizePrefix(opts.prefix);
    const existing = (await svc.list()).map((s) => s.name);
    plan = makePlan(incoming, existing, prefix);
    const refusal = refusalOf(plan, opts.overwrite ?? false);
    if (refusal && !opts.dryRun) throw refusal;
    if (!opts.dryRun) await applyPlan(svc, plan);
    return {
      dryRun: opts.dryRun ?? false,
      prefix: prefix ?? null,
      secrets: plan.items,
      skipped: [...skipped, ...plan.skipped],
      clashes: plan.clashes,
      refusal: refusal?.message ?? null,
    };
  } finally {
    wipe(...incoming.map((s) => s.value), ...(plan?.values ?? []));
  }
}

function listed(names: string[], max = 20): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
