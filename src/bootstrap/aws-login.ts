/**
 * Step 1 of bootstrap: make sure AWS credentials work before anything else, and for an IAM
 * Identity Center (SSO) profile whose token is missing or expired, run the login.
 */
import { spawn, spawnSync } from "node:child_process";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { EnclaveError } from "../errors.js";
import { needsSsoLogin } from "../providers/aws/sso.js";
import { type AwsOptions, credentialProvider, resolveRegion } from "../remote/s3-client.js";

export { needsSsoLogin };

/** The caller's ARN, or a thrown error from the SDK. */
export async function callerIdentity(
  opts: AwsOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  if (opts.endpointUrl) {
    // An S3-compatible store (MinIO, Ceph…) usually has no STS: resolving the credentials is the
    // check here (an SSO profile still needs its login); the pull step then tests access.
    await credentialProvider(opts, env)();
    return "(credentials resolved; S3-compatible endpoint, no STS check)";
  }
  const sts = new STSClient({
    region: resolveRegion(opts, env),
    credentials: credentialProvider(opts, env),
    maxAttempts: 2,
  });
  try {
    const r = await sts.send(new GetCallerIdentityCommand({}));
    return r.Arn ?? "(unknown identity)";
  } finally {
    sts.destroy();
  }
}

function awsCliPath(env: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync("/bin/sh", ["-c", "command -v aws"], { env, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Run `aws sso login --profile P` on the user's terminal; resolves when it exits 0. */
function runSsoLogin(aws: string, profile: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(aws, ["sso", "login", "--profile", profile], { stdio: "inherit", env });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new EnclaveError(`\`aws sso login --profile ${profile}\` failed (${signal ?? `exit ${code}`})`),
          ),
    );
  });
}

/**
 * Verify credentials; log in once through the AWS CLI when an SSO profile needs it. Returns the
 * identity ARN. Errors say what to do next.
 */
export async function ensureAwsCredentials(
  opts: AwsOptions,
  notice: (m: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  try {
    return await callerIdentity(opts, env);
  } catch (first) {
    const profile = opts.profile ?? env.AWS_PROFILE;
    const why = (first as Error).message;
    if (!profile || !needsSsoLogin(first))
      throw new EnclaveError(
        `AWS credentials do not work (${why}). ` +
          (profile
            ? `Check the profile "${profile}" in ~/.aws/config`
            : "Pass --profile P (IAM Identity Center or any AWS profile) or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"),
      );
    const aws = awsCliPath(env);
    if (!aws)
      throw new EnclaveError(
        `the IAM Identity Center session of profile "${profile}" needs a login (${why}), and the AWS CLI is not installed. ` +
          `Install it (Debian: apt-get install awscli), run \`aws sso login --profile ${profile}\`, then bootstrap again`,
      );
    notice(
      `the session of profile "${profile}" needs a login: running \`aws sso login --profile ${profile}\``,
    );
    await runSsoLogin(aws, profile, env);
    try {
      return await callerIdentity(opts, env);
    } catch (second) {
      throw new EnclaveError(
        `AWS credentials still do not work after the login: ${(second as Error).message}`,
      );
    }
  }
}
