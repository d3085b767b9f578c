/**
 * An S3 client configured the standard AWS way: region, endpoint and credentials from the SDK's
 * usual sources, with two enclave rules on top:
 *  - static keys in the environment win at once when no profile was asked for (the SDK's chain
 *    would otherwise try an SSO profile first and can hang for ~30 s — a known trap);
 *  - a custom endpoint (S3-compatible stores, moto in tests) uses path-style addressing.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { fromEnv, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";

export interface AwsOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

export function credentialProvider(
  opts: AwsOptions,
  env: NodeJS.ProcessEnv = process.env,
): AwsCredentialIdentityProvider {
  if (!opts.profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return fromEnv();
  return fromNodeProviderChain(opts.profile ? { profile: opts.profile } : {});
}

export function resolveRegion(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): string {
  return opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
}

export function makeS3Client(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): S3Client {
  const endpoint = opts.endpointUrl ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  return new S3Client({
    region: resolveRegion(opts, env),
    credentials: credentialProvider(opts, env),
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    maxAttempts: 3,
  });
}
