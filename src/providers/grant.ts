/**
 * Grants: what a run may use, stored inside the vault (encrypted, synced with it) as
 * configuration only — names of secrets and hosts, never values. One kind per rung of the
 * credential ladder (DESIGN.md): short-lived AWS sessions (top), proxy injection (the process
 * holds a placeholder), and environment variables (the floor: the process holds the value).
 */
import { z } from "zod";
import { UsageError } from "../errors.js";
import { parseHostPattern } from "../proxy/host-pattern.js";
import { TOKEN } from "../proxy/http1.js";
import { nameProblem } from "../vault/names.js";
import { parseTemplate, secretsOf } from "./template.js";

export const HeaderSchema = z.object({
  name: z.string(),
  /** `{{secret NAME}}` template. For `basic`, the `user:password` pair before base64. */
  template: z.string(),
  encoding: z.enum(["plain", "basic"]),
});
export type GrantHeader = z.infer<typeof HeaderSchema>;

const common = { createdAt: z.string() };

export const HttpGrantSchema = z.object({
  kind: z.literal("http"),
  hosts: z.array(z.string()).min(1),
  headers: z.array(HeaderSchema).min(1),
  /** The child gets a placeholder of the first referenced secret in this variable. */
  env: z.string().optional(),
  /** Inject into plain-HTTP requests too (off unless the operator asks). */
  plainHttp: z.boolean().optional(),
  ...common,
});

export const EnvGrantSchema = z.object({
  kind: z.literal("env"),
  var: z.string(),
  secret: z.string(),
  ...common,
});

export const AwsGrantSchema = z.object({
  kind: z.literal("aws"),
  /** The role's ARN, as parseRoleArn accepted it. */
  role: z.string(),
  region: z.string().optional(),
  /** 900 … 43,200 (STS's range; the role's MaxSessionDuration may be lower). */
  durationSeconds: z.number().int(),
  externalId: z.string().optional(),
  /** The session policy, minified JSON (at most 2,048 characters, STS's plaintext limit). */
  policy: z.string().optional(),
  /** The profile enclave assumes the role from; else the standard chain. */
  sourceProfile: z.string().optional(),
  ...common,
});

export const GrantSchema = z.discriminatedUnion("kind", [HttpGrantSchema, EnvGrantSchema, AwsGrantSchema]);
export type Grant = z.infer<typeof GrantSchema>;
export type HttpGrant = z.infer<typeof HttpGrantSchema>;
export type EnvGrant = z.infer<typeof EnvGrantSchema>;
export type AwsGrant = z.infer<typeof AwsGrantSchema>;
export type GrantKind = Grant["kind"];

/** The rung of the ladder each kind stands on, as `grant ls` and `run` report it. */
export const RUNG: Record<GrantKind, { rank: number; label: string }> = {
  aws: { rank: 1, label: "short-lived (STS session minted for the run)" },
  http: { rank: 2, label: "injected by the proxy (the process holds a placeholder)" },
  env: { rank: 3, label: "FLOOR: the value is in the process environment" },
};

const GRANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Headers the proxy owns: injecting them would break framing or the proxy's own checks. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "proxy-authorization",
  "proxy-connection",
  "upgrade",
  "te",
  "trailer",
  "keep-alive",
]);

export function assertGrantName(name: string): void {
  if (!GRANT_NAME.test(name))
    throw new UsageError(
      `invalid grant name "${name}": use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
}

export function assertEnvVar(name: string): void {
  if (!ENV_VAR.test(name))
    throw new UsageError(`invalid environment variable name "${name}": use letters, digits and '_'`);
}

/** `Authorization: Bearer {{secret x}}` → a header of the grant. */
export function parseHeaderOption(text: string): GrantHeader {
  const colon = text.indexOf(":");
  if (colon <= 0)
    throw new UsageError(
      `invalid --header "${text}": write it as 'Name: value', e.g. 'Authorization: Bearer {{secret github/token}}'`,
    );
  const name = text.slice(0, colon).trim();
  const template = text.slice(colon + 1).trim();
  if (!TOKEN.test(name)) throw new UsageError(`invalid header name "${name}"`);
  if (RESERVED_HEADERS.has(name.toLowerCase()))
    throw new UsageError(`header ${name} is managed by the proxy and cannot be injected`);
  if (/[\r\n\0]/.test(template))
    throw new UsageError(`header ${name}: the value may not contain line breaks`);
  if (secretsOf(template).length === 0)
    throw new UsageError(
      `header ${name} references no secret; put {{secret NAME}} where the value goes (a grant injects secrets)`,
    );
  return { name, template, encoding: "plain" };
}

/** `x-access-token:{{secret github/token}}` → `Authorization: Basic …` at run time. */
export function parseBasicOption(text: string): GrantHeader {
  if (!text.includes(":"))
    throw new UsageError(`invalid --basic "${text}": write it as 'user:{{secret NAME}}'`);
  if (/[\r\n\0]/.test(text)) throw new UsageError("--basic may not contain line breaks");
  if (secretsOf(text).length === 0) throw new UsageError("--basic references no secret; use {{secret NAME}}");
  parseTemplate(text);
  return { name: "Authorization", template: text, encoding: "basic" };
}

/** Secrets a grant reads from the vault (for validation and for the run). */
export function secretsOfGrant(g: Grant): string[] {
  if (g.kind === "env") return [g.secret];
  if (g.kind === "http") return [...new Set(g.headers.flatMap((h) => secretsOf(h.template)))];
  return [];
}

/** Checks that need no vault: names, patterns, templates. The store checks secrets exist. */
export function validateGrantShape(name: string, g: Grant): void {
  assertGrantName(name);
  if (g.kind === "http") {
    for (const h of g.hosts) parseHostPattern(h);
    for (const h of g.headers) parseTemplate(h.template);
    if (g.env !== undefined) assertEnvVar(g.env);
    const names = g.headers.map((h) => h.name.toLowerCase());
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new UsageError(`header ${dup} is given twice`);
  } else if (g.kind === "env") {
    assertEnvVar(g.var);
    const p = nameProblem(g.secret);
    if (p) throw new UsageError(`invalid secret name "${g.secret}": ${p}`);
  }
}

/** A pattern as stored: validated and normalised. */
export function parseHostPatternText(text: string): string {
  return parseHostPattern(text).text;
}

/** One line saying what a grant is for (hosts, variable, role). */
export function describeGrant(g: Grant): string {
  if (g.kind === "http") return `${g.hosts.join(", ")}${g.env ? ` (placeholder in $${g.env})` : ""}`;
  if (g.kind === "env") return `$${g.var} = ${g.secret}`;
  return `${g.role} (${g.durationSeconds / 60} min)`;
}
