/**
 * What a run's grants become once the vault is open: the proxy's rendered headers, the
 * scrubber's value→placeholder pairs, the child's variables (placeholders, and real values for
 * the `env` floor), the AWS grants for the broker, and one audit record per credential handed
 * out. All real bytes are copies owned here and wiped by `wipe()` at the end of the run.
 */
import { createHash } from "node:crypto";
import type { AuditEvent } from "../audit/events.js";
import { EnclaveError } from "../errors.js";
import { type AwsGrant, type Grant, type HttpGrant, secretsOfGrant } from "../providers/grant.js";
import { grantsOf, requireGrant } from "../providers/grant-store.js";
import { makePlaceholder } from "../providers/placeholder.js";
import { renderTemplate } from "../providers/template.js";
import { parseHostPattern } from "../proxy/host-pattern.js";
import type { ProxyGrant } from "../proxy/policy.js";
import type { Replacement } from "../proxy/scrub.js";
import { wipe } from "../secure/buffers.js";
import { fingerprint } from "../secure/fingerprint.js";
import type { VaultContents } from "../vault/contents.js";

export interface GrantMaterial {
  proxyGrants: ProxyGrant[];
  replacements: Replacement[];
  env: Record<string, string>;
  aws: { name: string; grant: AwsGrant }[];
  /** `credential` audit events, without the run id (added by the caller). */
  issued: {
    grant: string;
    kind: "env" | "http";
    detail: Record<string, string | number>;
    fingerprint: string;
  }[];
  /** Grants of the `env` kind: the floor of the ladder, reported as such. */
  floor: string[];
  wipe(): void;
}

export function grantMaterial(c: VaultContents, names: string[]): GrantMaterial {
  const all = grantsOf(c);
  const owned: Buffer[] = [];
  const own = (b: Buffer) => {
    owned.push(b);
    return b;
  };
  /** One placeholder per secret for the whole run, so headers and env agree. */
  const placeholders = new Map<string, Buffer>();
  const secretValue = (name: string): Buffer => {
    const rec = c.get(name);
    if (!rec)
      throw new EnclaveError(
        `a granted secret is missing from the vault: ${name}; store it again or fix the grant`,
      );
    return rec.value;
  };
  const placeholderOf = (name: string): Buffer => {
    let p = placeholders.get(name);
    if (!p) {
      p = makePlaceholder(secretValue(name));
      placeholders.set(name, p);
    }
    return p;
  };
  const m: GrantMaterial = {
    proxyGrants: [],
    replacements: [],
    env: {},
    aws: [],
    issued: [],
    floor: [],
    wipe: () =>
      wipe(...owned, ...placeholders.values(), ...m.replacements.flatMap((r) => [r.value, r.placeholder])),
  };
  const pairs = new Map<string, Replacement>();
  const addPair = (value: Buffer, placeholder: Buffer) => {
    // Keyed by a digest: a base64 key would be one more unwipeable copy of the value.
    const key = createHash("sha256").update(value).digest("hex");
    if (!pairs.has(key)) pairs.set(key, { value: Buffer.from(value), placeholder: Buffer.from(placeholder) });
  };
  const envNames = new Map<string, string>();
  const setEnv = (variable: string, value: string, grant: string) => {
    const other = envNames.get(variable);
    if (other)
      throw new EnclaveError(`grants ${other} and ${grant} both set ${variable}; run with only one of them`);
    envNames.set(variable, grant);
    m.env[variable] = value;
  };
  for (const name of new Set(names)) {
    const g: Grant = requireGrant(all, name);
    if (g.kind === "aws") {
      m.aws.push({ name, grant: g });
    } else if (g.kind === "env") {
      const v = secretValue(g.secret);
      setEnv(g.var, v.toString("utf8"), name);
      m.floor.push(name);
      m.issued.push({
        grant: name,
        kind: "env",
        detail: { variable: g.var, secret: g.secret },
        fingerprint: fingerprint(c.fingerprintKey, v),
      });
    } else {
      m.proxyGrants.push(httpGrant(name, g, secretValue, placeholderOf, own, addPair));
      const secrets = secretsOfGrant(g);
      if (g.env) setEnv(g.env, placeholderOf(secrets[0]!).toString("latin1"), name);
      for (const s of secrets)
        m.issued.push({
          grant: name,
          kind: "http",
          detail: { secret: s, hosts: g.hosts.join(" ") },
          fingerprint: fingerprint(c.fingerprintKey, secretValue(s)),
        });
    }
  }
  for (const [name] of placeholders) addPair(secretValue(name), placeholderOf(name));
  // Longest first: a value that contains another is replaced whole.
  m.replacements = [...pairs.values()].sort((a, b) => b.value.length - a.value.length);
  return m;
}

function httpGrant(
  name: string,
  g: HttpGrant,
  secretValue: (s: string) => Buffer,
  placeholderOf: (s: string) => Buffer,
  own: (b: Buffer) => Buffer,
  addPair: (value: Buffer, placeholder: Buffer) => void,
): ProxyGrant {
  const headers = g.headers.map((h) => {
    const real = own(renderTemplate(h.template, secretValue));
    const fake = own(renderTemplate(h.template, placeholderOf));
    if (h.encoding === "plain") {
      // A line break in a header value would end the header (and could start another one).
      if (real.some((c) => (c < 0x20 && c !== 0x09) || c === 0x7f))
        throw new EnclaveError(
          `grant ${name}: header ${h.name} would contain a line break or control character from its secret; ` +
            "store the value without it (a trailing newline often comes from `echo`; use `printf %s`)",
        );
      addPair(real, fake);
      return { name: h.name, value: real };
    }
    // Basic: base64 of equal-length inputs has equal length, so the pair still scrubs in place.
    const real64 = own(Buffer.from(real.toString("base64")));
    addPair(real64, own(Buffer.from(fake.toString("base64"))));
    return { name: h.name, value: own(Buffer.concat([Buffer.from("Basic "), real64])) };
  });
  return { name, hosts: g.hosts.map(parseHostPattern), headers, plainHttp: g.plainHttp === true };
}

export type CredentialEvent = Extract<AuditEvent, { type: "credential" }>;
