/**
 * Where enclave's own AWS credentials and region come from, for every AWS client it makes (S3
 * for sync, STS for bootstrap's check, for `grant aws` and for a run's session broker): one
 * order, so `push` and `run` never pick different identities from the same environment.
 *
 * Credentials, first match wins:
 *  1. a profile named on the command line or in config (`--profile`, `aws.profile`,
 *     `--source-profile`): that profile of the shared config/credentials files (static keys,
 *     IAM Identity Center, credential_process, role_arn chains — whatever the profile says);
 *  2. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), used at once, so no
 *     SSO profile is probed first (that can stall for ~30 s);
 *  3. `AWS_PROFILE`;
 *  4. the SDK's default chain (profile "default", web identity, container, instance metadata).
 * This is the AWS CLI's order, and the order the SDK's `fromNodeProviderChain` lists (environment
 * first). The JavaScript SDK itself (3.1173) still skips the environment keys when `AWS_PROFILE`
 * is set, and warns that a later version may prefer the keys: enclave does so already.
 *
 * `env` is honoured for the keys, the profile name and the file locations; the SDK still reads
 * its remaining settings (e.g. AWS_EC2_METADATA_DISABLED) from process.env, and its fromIni looks
 * an IAM Identity Center profile up again in the default config file (process.env.AWS_CONFIG_FILE
 * or ~/.aws/config), not in the file it was given.
 */
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@aws-sdk/types";

/**
 * Credentials this close to their expiry count as expired: resolved (or refreshed) again. The
 * SDK's own window (credentialsTreatedAsExpired) is the same 5 minutes.
 */
export const CREDENTIAL_REFRESH_WINDOW_MS = 5 * 60_000;

export interface AwsCredentialSource {
  provider: AwsCredentialIdentityProvider;
  /** For messages: `profile "ops" (--source-profile)`, `environment keys (AWS_ACCESS_KEY_ID…)`… */
  describe: string;
  /** The profile in use, when there is one (for the `aws sso login --profile` hint). */
  profile?: string;
}

/** A profile asked for explicitly, and the option it came from (for messages). */
export interface NamedProfile {
  name: string;
  /** e.g. "--source-profile", "--profile". */
  from: string;
}

/** One resolution shared by all callers; resolved again within the refresh window of expiry. */
function memoProvider(p: AwsCredentialIdentityProvider): AwsCredentialIdentityProvider {
  let cached: AwsCredentialIdentity | undefined;
  let inflight: Promise<AwsCredentialIdentity> | undefined;
  return async () => {
    if (
      cached &&
      (!cached.expiration || cached.expiration.getTime() - Date.now() > CREDENTIAL_REFRESH_WINDOW_MS)
    )
      return cached;
    inflight ??= p()
      .then((c) => {
        cached = c;
        return c;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };
}

function fileOptions(env: NodeJS.ProcessEnv): { filepath?: string; configFilepath?: string } {
  return {
    ...(env.AWS_SHARED_CREDENTIALS_FILE ? { filepath: env.AWS_SHARED_CREDENTIALS_FILE } : {}),
    ...(env.AWS_CONFIG_FILE ? { configFilepath: env.AWS_CONFIG_FILE } : {}),
  };
}

/** The credentials to use, in the order above. */
export function awsCredentialSource(
  named: NamedProfile | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AwsCredentialSource {
  const files = fileOptions(env);
  const profile = (name: string, from: string): AwsCredentialSource => ({
    provider: memoProvider(fromIni({ profile: name, ...files })),
    describe: `profile "${name}" (${from})`,
    profile: name,
  });
  if (named) return profile(named.name, named.from);
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = env;
  if (id && secret) {
    const creds: AwsCredentialIdentity = {
      accessKeyId: id,
      secretAccessKey: secret,
      ...(token ? { sessionToken: token } : {}),
    };
    return {
      provider: async () => creds,
      describe: "environment keys (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    };
  }
  if (env.AWS_PROFILE) return profile(env.AWS_PROFILE, "AWS_PROFILE");
  return {
    provider: memoProvider(fromNodeProviderChain(files)),
    describe:
      'the default AWS credential chain (profile "default" in ~/.aws, web identity, container and instance credentials)',
    profile: "default",
  };
}

/** The region asked for, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `fallback`. */
export function awsRegion(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  fallback = "us-east-1",
): string {
  return explicit ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? fallback;
}
