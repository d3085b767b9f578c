/**
 * Grants live in the vault's metadata under `grants` (a name → grant map), so they are
 * encrypted and synced with the vault, and no grant exists without the vault that holds its
 * secrets. Every read and write needs an unlocked vault.
 */
import { EnclaveError, UsageError } from "../errors.js";
import type { VaultContents } from "../vault/contents.js";
import type { VaultService } from "../vault/service.js";
import { type Grant, GrantSchema, secretsOfGrant, validateGrantShape } from "./grant.js";

export interface NamedGrant {
  name: string;
  grant: Grant;
}

/** The grants stored in open vault contents (a damaged entry is reported, not dropped). */
export function grantsOf(c: VaultContents): Map<string, Grant> {
  const raw = c.meta.grants;
  const out = new Map<string, Grant>();
  if (raw === undefined) return out;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new EnclaveError("the vault's grant list is malformed; it was written by an incompatible tool");
  for (const [name, value] of Object.entries(raw)) {
    const parsed = GrantSchema.safeParse(value);
    if (!parsed.success)
      throw new EnclaveError(
        `grant "${name}" in the vault is malformed (${parsed.error.issues[0]?.message}); remove it with \`enclave grant rm ${name}\``,
      );
    out.set(name, parsed.data);
  }
  return out;
}

function missingSecrets(c: VaultContents, g: Grant): string[] {
  return secretsOfGrant(g).filter((s) => !c.secrets.has(s));
}

export class GrantStore {
  constructor(private readonly vault: VaultService) {}

  async list(): Promise<NamedGrant[]> {
    return this.vault.inspect((c) =>
      [...grantsOf(c)].map(([name, grant]) => ({ name, grant })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
  }

  async get(name: string): Promise<Grant> {
    return this.vault.inspect((c) => requireGrant(grantsOf(c), name));
  }

  /** Add or replace a grant; every secret it names must exist. */
  async put(name: string, grant: Grant, opts: { replace?: boolean } = {}): Promise<{ replaced: boolean }> {
    validateGrantShape(name, grant);
    return this.vault.updateMeta((c) => {
      const all = grantsOf(c);
      const replaced = all.has(name);
      if (replaced && !opts.replace)
        throw new UsageError(`grant "${name}" already exists; remove it first or pass --replace`);
      const missing = missingSecrets(c, grant);
      if (missing.length > 0)
        throw new UsageError(
          `grant "${name}" names secrets the vault does not hold: ${missing.join(", ")}. ` +
            "Store them first with `enclave set NAME`",
        );
      all.set(name, grant);
      c.meta.grants = Object.fromEntries(all);
      return { replaced };
    });
  }

  async remove(name: string): Promise<void> {
    await this.vault.updateMeta((c) => {
      const all = grantsOf(c);
      requireGrant(all, name);
      all.delete(name);
      c.meta.grants = Object.fromEntries(all);
    });
  }
}

export function requireGrant(all: Map<string, Grant>, name: string): Grant {
  const g = all.get(name);
  if (!g) {
    const known = [...all.keys()].sort();
    throw new UsageError(
      `no grant named "${name}"` +
        (known.length ? ` (grants: ${known.join(", ")})` : "; create one with `enclave grant http|env|aws`"),
    );
  }
  return g;
}
