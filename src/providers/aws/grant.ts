/**
 * `enclave grant aws NAME --role ARN …`: the grant's configuration (never credentials), checked
 * against IAM's and STS's own limits, and the optional check at grant time — one AssumeRole with
 * exactly the settings every run will use.
 */
import { readFileSync, statSync } from "node:fs";
import { formatDuration, parseDuration } from "../../config/duration.js";
import { UsageError } from "../../errors.js";
import type { AwsGrant } from "../grant.js";
import { parseRoleArn } from "./arn.js";
import { AWS_PROFILE_NAME, AWS_PROFILE_NAME_RULE, AWS_REGION_NAME } from "./names.js";
import { AwsCredentialError, assumeRole, makeStsContext, sessionNameFor } from "./sts.js";

/** An AWS grant's settings: the stored grant (AwsGrantSchema) without its kind and creation time. */
export type AwsGrantConfig = Omit<AwsGrant, "kind" | "createdAt">;

export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 43_200;
export const DEFAULT_DURATION_SECONDS = 3600;
/** STS: "The plaintext that you use for both inline and managed session policies can't exceed 2,048 characters." */
export const MAX_POLICY_CHARS = 2048;
/** A policy file larger than this is not a session policy (it could not be minified under 2,048). */
const MAX_POLICY_FILE_BYTES = 64 * 1024;

/** STS ExternalId: 2–1,224 characters of `[\w+=,.@:/-]`. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;

export function parseAwsDuration(text: string): number {
  const ms = parseDuration(text, "--duration");
  if (ms % 1000 !== 0) throw new UsageError(`--duration ${text} must be whole seconds`);
  const s = ms / 1000;
  if (s < MIN_DURATION_SECONDS || s > MAX_DURATION_SECONDS)
    throw new UsageError(
      `--duration ${text} (${formatDuration(ms)}) is outside what STS allows: 15m (900s) to 12h (43200s)`,
    );
  return s;
}

export function validateRegion(region: string, partition: string): string {
  if (!AWS_REGION_NAME.test(region))
    throw new UsageError(`--region "${region}" is not an AWS region name (e.g. us-east-1, eu-central-1)`);
  const isCn = region.startsWith("cn-");
  const isGov = region.startsWith("us-gov-");
  const ok =
    partition === "aws-cn"
      ? isCn
      : partition === "aws-us-gov"
        ? isGov
        : !isCn && !isGov && !/^us-iso/.test(region);
  if (!ok)
    throw new UsageError(
      `--region ${region} is not in the role's partition "${partition}" ` +
        (partition === "aws-cn"
          ? "(use a cn-… region)"
          : partition === "aws-us-gov"
            ? "(use a us-gov-… region)"
            : "(cn-… regions belong to aws-cn, us-gov-… to aws-us-gov)"),
    );
  return region;
}

export function validateExternalId(id: string): string {
  if (!EXTERNAL_ID.test(id))
    throw new UsageError(
      `--external-id must be 2–1224 characters of letters, digits and _+=,.@:/- (STS's rule); got ${id.length} character(s)` +
        (/^[\w+=,.@:/-]*$/.test(id) ? "" : " including others"),
    );
  return id;
}

const POLICY_KEYS = new Set(["Version", "Id", "Statement"]);
const STATEMENT_KEYS = new Set([
  "Sid",
  "Effect",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Condition",
]);

function isStringOrStrings(v: unknown): boolean {
  return (
    (typeof v === "string" && v.length > 0) ||
    (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x.length > 0))
  );
}

/**
 * A session policy: JSON, an IAM identity-policy document (Version, Statement; every statement
 * with Effect, Action|NotAction and Resource|NotResource; no Principal), and at most 2,048
 * characters once minified. Returns the minified text that is sent to STS.
 */
export function validateSessionPolicy(text: string, file = "--policy"): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const bad = (why: string) => new UsageError(`${file}: not a session policy: ${why}`);
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw bad("the document must be a JSON object with Version and Statement");
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!POLICY_KEYS.has(k))
      throw bad(
        k === "Principal"
          ? "Principal belongs in a trust policy; a session policy has none"
          : `unknown element "${k}" (allowed: ${[...POLICY_KEYS].join(", ")})`,
      );
  if (d.Version !== "2012-10-17" && d.Version !== "2008-10-17")
    throw bad(`Version must be "2012-10-17" (got ${JSON.stringify(d.Version)})`);
  const statements = Array.isArray(d.Statement)
    ? d.Statement
    : d.Statement === undefined
      ? []
      : [d.Statement];
  if (statements.length === 0) throw bad("Statement is missing or empty");
  statements.forEach((st, i) => {
    const where = `Statement[${i}]`;
    if (typeof st !== "object" || st === null || Array.isArray(st)) throw bad(`${where} is not an object`);
    const s = st as Record<string, unknown>;
    for (const k of Object.keys(s))
      if (!STATEMENT_KEYS.has(k))
        throw bad(
          k === "Principal" || k === "NotPrincipal"
            ? `${where}: ${k} belongs in a trust policy; a session policy has none`
            : `${where}: unknown element "${k}" (allowed: ${[...STATEMENT_KEYS].join(", ")})`,
        );
    if (s.Effect !== "Allow" && s.Effect !== "Deny") throw bad(`${where}: Effect must be "Allow" or "Deny"`);
    if ((s.Action === undefined) === (s.NotAction === undefined))
      throw bad(`${where}: needs exactly one of Action or NotAction`);
    if (!isStringOrStrings(s.Action ?? s.NotAction))
      throw bad(`${where}: Action/NotAction must be a string or a non-empty list of strings`);
    if ((s.Resource === undefined) === (s.NotResource === undefined))
      throw bad(`${where}: needs exactly one of Resource or NotResource`);
    if (!isStringOrStrings(s.Resource ?? s.NotResource))
      throw bad(`${where}: Resource/NotResource must be a string or a non-empty list of strings`);
    if (s.Condition !== undefined && (typeof s.Condition !== "object" || s.Condition === null))
      throw bad(`${where}: Condition must be an object`);
  });
  const minified = JSON.stringify(doc);
  // STS accepts \t, \n, \r and U+0020–U+00FF; minified JSON has no raw control characters left.
  const outside = [...minified].find((c) => c.charCodeAt(0) > 0xff);
  if (outside !== undefined)
    throw bad(`it contains "${outside}"; STS accepts only characters up to U+00FF in a policy`);
  if (minified.length > MAX_POLICY_CHARS)
    throw bad(
      `${minified.length} characters once minified; STS allows at most ${MAX_POLICY_CHARS}. ` +
        "Narrow it with wildcards, or attach a managed policy to the role instead",
    );
  return minified;
}

function readPolicyFile(file: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new UsageError(`--policy ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  if (size > MAX_POLICY_FILE_BYTES)
    throw new UsageError(
      `--policy ${file} is ${size} bytes; a session policy must fit in ${MAX_POLICY_CHARS} characters`,
    );
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--policy ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}

export function validateAwsGrant(input: {
  role: string;
  region?: string;
  duration?: string;
  externalId?: string;
  policyFile?: string;
  sourceProfile?: string;
}): AwsGrantConfig {
  const arn = parseRoleArn(input.role);
  const cfg: AwsGrantConfig = {
    role: arn.arn,
    durationSeconds:
      input.duration === undefined ? DEFAULT_DURATION_SECONDS : parseAwsDuration(input.duration),
  };
  if (input.region !== undefined) cfg.region = validateRegion(input.region, arn.partition);
  if (input.externalId !== undefined) cfg.externalId = validateExternalId(input.externalId);
  if (input.policyFile !== undefined)
    cfg.policy = validateSessionPolicy(readPolicyFile(input.policyFile), `--policy ${input.policyFile}`);
  if (input.sourceProfile !== undefined) {
    if (!AWS_PROFILE_NAME.test(input.sourceProfile))
      throw new UsageError(
        `--source-profile "${input.sourceProfile}" is not a profile name (${AWS_PROFILE_NAME_RULE})`,
      );
    cfg.sourceProfile = input.sourceProfile;
  }
  return cfg;
}

export interface VerifiedGrant {
  /** The assumed-role ARN STS returned (arn:…:sts::ACCOUNT:assumed-role/ROLE/SESSION). */
  assumedRoleArn: string;
  /** Set when the role's trust policy accepted a SourceIdentity (sts:SetSourceIdentity). */
  sourceIdentity?: string;
  /** Where enclave's own credentials came from, e.g. `profile "ops" (--source-profile)`. */
  source: string;
}

/**
 * One AssumeRole with the grant's exact settings (duration, external id, session policy,
 * SourceIdentity), its credentials discarded. Throws AwsCredentialError (exit 1) naming the cause
 * and the credential source that was used.
 */
export async function verifyAwsGrant(
  cfg: AwsGrantConfig,
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<VerifiedGrant> {
  const ctx = makeStsContext(cfg, opts.env ?? process.env);
  try {
    const name = sessionNameFor(`verify-${Date.now()}`);
    const r = await assumeRole(ctx, cfg, { sessionName: name, sourceIdentity: name });
    const arn = r.output.AssumedRoleUser?.Arn;
    if (!arn)
      throw new AwsCredentialError("STS answered AssumeRole without an assumed-role ARN", "BadResponse");
    return {
      assumedRoleArn: arn,
      ...(r.sourceIdentity ? { sourceIdentity: r.sourceIdentity } : {}),
      source: ctx.source?.describe ?? "the injected STS client",
    };
  } finally {
    ctx.client.destroy();
  }
}
