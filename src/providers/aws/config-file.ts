/**
 * What a run's child gets for an AWS grant: a generated AWS config file (in the run's RAM
 * directory) and environment variables. Two ways to the same session, both served by the run's
 * credential endpoint:
 *
 *  - "process": the profile has `credential_process = enclave _aws-credentials --url … --token-file …`;
 *  - "container": `AWS_CONTAINER_CREDENTIALS_FULL_URI` + `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
 *
 * Which one a client uses is decided by its credential chain. In the AWS SDK for JavaScript v3
 * and the AWS CLI v2 (and botocore, and the other SDKs) the profile's `credential_process` comes
 * before the container provider, so a profile that has one wins and the container variables are
 * the fallback (and the way for clients that lack credential_process). To make clients use the
 * container endpoint, render the profile without `credential_process` (the client tests do, through test/helpers/aws-child.ts).
 */
import { UsageError } from "../../errors.js";
import { AWS_PROFILE_NAME, AWS_PROFILE_NAME_RULE, AWS_REGION_NAME } from "./names.js";

/** Characters a POSIX shell and Python's shlex take literally outside quotes. */
const SHELL_SAFE = /^[\w@%+=:,./-]+$/;

/**
 * A command line for `credential_process`: the AWS CLI splits it with Python's shlex (POSIX
 * rules), the JavaScript SDK hands it to /bin/sh. Single quotes mean the same to both.
 */
export function commandLine(args: string[]): string {
  return args
    .map((a) => {
      if (a.length > 0 && SHELL_SAFE.test(a)) return a;
      return `'${a.replace(/'/g, `'\\''`)}'`;
    })
    .join(" ");
}

/** The profile's `credential_process` value: the helper asked for one grant's endpoint. */
export function credentialProcessLine(command: string[], endpointUrl: string, tokenFile: string): string {
  return commandLine([...command, "--url", endpointUrl, "--token-file", tokenFile]);
}

export function renderAwsConfig(opts: {
  profile: string;
  region?: string;
  /** The full command line (see commandLine); omit it for a container-endpoint-only profile. */
  credentialProcess?: string;
}): string {
  if (!AWS_PROFILE_NAME.test(opts.profile))
    throw new UsageError(`AWS profile name "${opts.profile}" must be ${AWS_PROFILE_NAME_RULE}`);
  if (opts.region !== undefined && !AWS_REGION_NAME.test(opts.region))
    throw new UsageError(`"${opts.region}" is not an AWS region name`);
  const header = opts.profile === "default" ? "[default]" : `[profile ${opts.profile}]`;
  const lines = ["# Written by enclave for one run; removed when the run ends.", header];
  if (opts.region) lines.push(`region = ${opts.region}`);
  if (opts.credentialProcess !== undefined) {
    const cmd = opts.credentialProcess;
    if (cmd.trim() !== cmd || cmd.length === 0 || /[\r\n\0]/.test(cmd))
      throw new UsageError("the credential_process command must be one non-empty line without outer spaces");
    // The SDK's INI parser ends a value at whitespace followed by # or ; (an inline comment).
    if (/\s[#;]/.test(cmd))
      throw new UsageError(
        "the credential_process command holds a space followed by # or ;, which the AWS SDK reads as a comment; " +
          "use paths without them",
      );
    lines.push(`credential_process = ${cmd}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The child's AWS variables. The run removes every inherited AWS_* variable first
 * (src/run/child-env.ts), so no base credential, other profile or metadata endpoint stays set.
 *
 * The token goes in AWS_CONTAINER_AUTHORIZATION_TOKEN by default: Debian's AWS CLI 2.9 does not
 * know the _FILE form, and setting both makes the JavaScript SDK print a warning on every lookup.
 * `tokenDelivery: "file"` sets only AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (newer clients).
 */
export function awsChildEnv(opts: {
  configFile: string;
  profile: string;
  region?: string;
  /** The credential endpoint, e.g. http://127.0.0.1:PORT/aws/GRANT/credentials. */
  endpointUrl: string;
  tokenFile: string;
  token: string;
  tokenDelivery?: "env" | "file";
}): Record<string, string> {
  const env: Record<string, string> = {
    AWS_CONFIG_FILE: opts.configFile,
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_PROFILE: opts.profile,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: opts.endpointUrl,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  if (opts.tokenDelivery === "file") env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = opts.tokenFile;
  else env.AWS_CONTAINER_AUTHORIZATION_TOKEN = opts.token;
  if (opts.region) {
    env.AWS_REGION = opts.region;
    env.AWS_DEFAULT_REGION = opts.region;
  }
  return env;
}
