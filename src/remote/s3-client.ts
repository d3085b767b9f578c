/**
 * An S3 client configured the standard AWS way: region, endpoint and credentials from the SDK's
 * usual sources, in the order every AWS client of enclave uses (src/platform/aws-credentials.ts:
 * `--profile`, else static keys in the environment — at once, so no SSO profile is probed first,
 * which can hang for ~30 s — else `AWS_PROFILE`, else the SDK's default chain). A custom endpoint
 * (S3-compatible stores, moto in tests) uses path-style addressing.
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { AwsCredentialIdentityProvider } from "@aws-sdk/types";
import { awsCredentialSource, awsRegion } from "../platform/aws-credentials.js";

export interface AwsOptions {
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

/** The credentials for `opts` (also used for STS by bootstrap/). */
export function credentialProvider(
  opts: AwsOptions,
  env: NodeJS.ProcessEnv = process.env,
): AwsCredentialIdentityProvider {
  return awsCredentialSource(opts.profile ? { name: opts.profile, from: "--profile" } : undefined, env)
    .provider;
}

export function resolveRegion(opts: AwsOptions, env: NodeJS.ProcessEnv = process.env): string {
  return awsRegion(opts.region, env);
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
