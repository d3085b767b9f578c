/**
 * What the grant check and the session broker share: where enclave's own (base) AWS credentials
 * come from, the STS client, one AssumeRole with the SourceIdentity fallback, and errors that say
 * what to do next.
 *
 * Base credentials: `awsCredentialSource` (src/platform/aws-credentials.ts), the order every AWS
 * client of enclave uses, with `--source-profile P` as the named profile: that profile, else the
 * environment keys, else `AWS_PROFILE`, else the SDK's default chain.
 *
 * The STS endpoint: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL` (unless
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the SDK's regional endpoint for the region.
 * The SDK (3.1173) reads those variables itself from process.env; they are passed explicitly so an
 * injected `env` works the same way.
 */
import {
  AssumeRoleCommand,
  type AssumeRoleCommandOutput,
  GetCallerIdentityCommand,
  STSClient,
} from "@aws-sdk/client-sts";
import { formatDuration } from "../../config/duration.js";
import { EnclaveError } from "../../errors.js";
import { type AwsCredentialSource, awsCredentialSource, awsRegion } from "../../platform/aws-credentials.js";
import { parseRoleArn } from "./arn.js";
import type { AwsGrantConfig } from "./grant.js";
import { needsSsoLogin } from "./sso.js";

/** Failure to obtain or use enclave's own credentials, or an STS refusal (exit 1). */
export class AwsCredentialError extends EnclaveError {
  /** The AWS error name (AccessDenied, ExpiredTokenException…), or the stage for local failures. */
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.code = code;
  }
}

export function baseCredentialSource(
  cfg: Pick<AwsGrantConfig, "sourceProfile">,
  env: NodeJS.ProcessEnv,
): AwsCredentialSource {
  return awsCredentialSource(
    cfg.sourceProfile ? { name: cfg.sourceProfile, from: "--source-profile" } : undefined,
    env,
  );
}

export function stsEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === "true") return undefined;
  return env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL || undefined;
}

const PARTITION_DEFAULT_REGION = { aws: "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1" };

/** The grant's region, else the environment's, else the role's partition's usual STS region. */
export function stsRegion(cfg: Pick<AwsGrantConfig, "region" | "role">, env: NodeJS.ProcessEnv): string {
  return awsRegion(cfg.region, env, PARTITION_DEFAULT_REGION[parseRoleArn(cfg.role).partition]);
}

export interface StsContext {
  client: STSClient;
  /** Undefined when the client was injected (it brings its own credentials). */
  source?: AwsCredentialSource;
  region: string;
  endpoint?: string;
}

/** The STS client for `cfg` from `env`; or, given `injected` (tests), that client as it is. */
export function makeStsContext(
  cfg: AwsGrantConfig,
  env: NodeJS.ProcessEnv,
  injected?: STSClient,
): StsContext {
  if (injected) return { client: injected, region: stsRegion(cfg, env) };
  const source = baseCredentialSource(cfg, env);
  const region = stsRegion(cfg, env);
  const endpoint = stsEndpoint(env);
  const client = new STSClient({
    region,
    credentials: source.provider,
    ...(endpoint ? { endpoint } : {}),
    maxAttempts: 3,
    // A hung STS must not hang every child waiting for credentials.
    requestHandler: { connectionTimeout: 5000, requestTimeout: 15_000 },
  });
  return { client, source, region, ...(endpoint ? { endpoint } : {}) };
}

/** RoleSessionName / SourceIdentity charset; both at most 64 characters. */
const SESSION_CHARS = /[^\w+=,.@-]/g;

/** `enclave-<runId>`, with characters STS refuses replaced by "-", at most 64 characters. */
export function sessionNameFor(runId: string): string {
  return `enclave-${runId}`.replace(SESSION_CHARS, "-").slice(0, 64);
}

export interface AssumeParams {
  sessionName: string;
  /** Omitted when the role's trust policy is known not to allow sts:SetSourceIdentity. */
  sourceIdentity?: string;
}

export interface Assumed {
  output: AssumeRoleCommandOutput;
  /** The SourceIdentity STS accepted, if any. */
  sourceIdentity?: string;
  /** STS refused the SourceIdentity and the call succeeded without it. */
  sourceIdentityRefused: boolean;
  /** AssumeRole calls sent (2 when the SourceIdentity fallback was taken). */
  calls: number;
}

/** An STS error that means "not allowed", which a missing sts:SetSourceIdentity also produces. */
function isAccessDenied(e: unknown): boolean {
  const name = (e as Error)?.name ?? "";
  return name === "AccessDenied" || name === "AccessDeniedException";
}

function mentionsSourceIdentity(e: unknown): boolean {
  return /source ?identity/i.test((e as Error)?.message ?? "");
}

/**
 * One AssumeRole. With a SourceIdentity, a refusal (AccessDenied — the trust policy lacks
 * sts:SetSourceIdentity — or a validation error naming it) is retried once without it; the
 * caller remembers `sourceIdentityRefused` and stops asking. Any failure is an
 * AwsCredentialError that says what to do.
 */
export async function assumeRole(
  ctx: StsContext,
  cfg: AwsGrantConfig,
  params: AssumeParams,
  countCall: () => void = () => undefined,
): Promise<Assumed> {
  if (ctx.source) {
    try {
      await ctx.source.provider();
    } catch (e) {
      throw credentialFailure(e, ctx.source);
    }
  }
  const send = async (sourceIdentity: string | undefined) => {
    countCall();
    return ctx.client.send(
      new AssumeRoleCommand({
        RoleArn: cfg.role,
        RoleSessionName: params.sessionName,
        DurationSeconds: cfg.durationSeconds,
        ...(cfg.externalId ? { ExternalId: cfg.externalId } : {}),
        ...(cfg.policy ? { Policy: cfg.policy } : {}),
        ...(sourceIdentity ? { SourceIdentity: sourceIdentity } : {}),
      }),
    );
  };
  let calls = 1;
  try {
    try {
      const output = await send(params.sourceIdentity);
      return {
        output,
        ...(params.sourceIdentity ? { sourceIdentity: params.sourceIdentity } : {}),
        sourceIdentityRefused: false,
        calls,
      };
    } catch (e) {
      if (!params.sourceIdentity || !(isAccessDenied(e) || mentionsSourceIdentity(e))) throw e;
      calls++;
      const output = await send(undefined);
      return { output, sourceIdentityRefused: true, calls };
    }
  } catch (e) {
    throw await stsFailure(e, ctx, cfg);
  }
}

function credentialFailure(e: unknown, source: AwsCredentialSource): AwsCredentialError {
  const why = (e as Error)?.message ?? String(e);
  if (source.profile && needsSsoLogin(e))
    return new AwsCredentialError(
      `the IAM Identity Center (SSO) session of profile "${source.profile}" is missing or expired: ` +
        `run \`aws sso login --profile ${source.profile}\` and try again (${why})`,
      "SsoLoginRequired",
    );
  return new AwsCredentialError(
    `no usable AWS credentials to assume the role with: tried ${source.describe} (${why}). ` +
      "Name a working profile with --source-profile P (or AWS_PROFILE), or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
    "NoCredentials",
  );
}

async function callerArn(ctx: StsContext): Promise<string | undefined> {
  try {
    return (await ctx.client.send(new GetCallerIdentityCommand({}))).Arn;
  } catch {
    return undefined;
  }
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET"]);

async function stsFailure(e: unknown, ctx: StsContext, cfg: AwsGrantConfig): Promise<AwsCredentialError> {
  const err = e as Error & { code?: string; $fault?: unknown };
  const name = err?.name ?? "Error";
  const msg = err?.message ?? String(e);
  const from = ctx.source ? ` (base credentials: ${ctx.source.describe})` : "";
  const where = ctx.endpoint ?? `the regional STS endpoint of ${ctx.region}`;
  const ssoHint = ctx.source?.profile
    ? `; if profile "${ctx.source.profile}" uses IAM Identity Center, run \`aws sso login --profile ${ctx.source.profile}\``
    : "";
  if (isAccessDenied(e)) {
    const who = (await callerArn(ctx)) ?? ctx.source?.describe ?? "the caller";
    return new AwsCredentialError(
      `the trust policy of role ${cfg.role} does not let ${who} assume it, or that identity's own ` +
        `policies do not allow sts:AssumeRole on it${cfg.externalId ? " (or the external id does not match the trust policy's sts:ExternalId condition)" : ""}` +
        `${from}. Add the principal to the role's trust policy, or use --source-profile with one it trusts (STS said: ${msg})`,
      name,
    );
  }
  switch (name) {
    case "ExpiredToken":
    case "ExpiredTokenException":
      return new AwsCredentialError(
        `the base AWS credentials have expired${from}: refresh them${ssoHint} (STS said: ${msg})`,
        name,
      );
    case "InvalidClientTokenId":
    case "SignatureDoesNotMatch":
    case "UnrecognizedClientException":
    case "IncompleteSignature":
      return new AwsCredentialError(
        `STS does not accept the base AWS credentials${from}: the keys are wrong or deleted (STS said: ${msg})`,
        name,
      );
    case "MalformedPolicyDocument":
    case "MalformedPolicyDocumentException":
      return new AwsCredentialError(`STS rejected the session policy (--policy): ${msg}`, name);
    case "PackedPolicyTooLarge":
    case "PackedPolicyTooLargeException":
      return new AwsCredentialError(
        `the session policy (--policy) is too large once STS packs it; shorten it (STS said: ${msg})`,
        name,
      );
    case "RegionDisabledException":
      return new AwsCredentialError(
        `STS is not activated in ${ctx.region} for this account: activate the region in the IAM account settings, or use --region (STS said: ${msg})`,
        name,
      );
  }
  if (/DurationSeconds|session duration|role chaining/i.test(msg))
    return new AwsCredentialError(
      `STS refused a ${formatDuration(cfg.durationSeconds * 1000)} session for ${cfg.role}: it is longer than the role's ` +
        "maximum session duration (or 1h when the base credentials are themselves a role session). " +
        `Use a shorter --duration or raise the role's MaxSessionDuration (STS said: ${msg})`,
      name,
    );
  if ((err?.code && NETWORK_CODES.has(err.code)) || name === "TimeoutError" || !err?.$fault)
    return new AwsCredentialError(`cannot reach STS at ${where}: ${msg}`, err?.code ?? name);
  return new AwsCredentialError(`AssumeRole of ${cfg.role} failed${from}: ${name}: ${msg}`, name);
}
