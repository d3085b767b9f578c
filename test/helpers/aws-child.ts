/**
 * One grant's AWS client set-up, either way a client can get credentials from a run, for the
 * client tests and bench/aws-creds (a run itself always writes the "process" way, for all its
 * grants at once: src/run/aws-access.ts).
 */
import { awsChildEnv, credentialProcessLine, renderAwsConfig } from "../../src/providers/aws/config-file.js";

export type AwsCredentialPath = "process" | "container";

/**
 * Both halves for one grant: the config file's text (the caller writes it to `configFile`, 0600,
 * in the run's RAM directory) and the child's variables. `prefer: "process"` puts
 * `credential_process = <command> --url <endpointUrl> --token-file <tokenFile>` in the profile
 * (it wins in the SDKs' and the CLI's chains; the container variables stay as the fallback);
 * `"container"` leaves it out, so clients use the container endpoint. The client tests and
 * bench/aws-creds use it to try both; a run writes every grant's profile into one file itself
 * (src/run/aws-access.ts), always the "process" way.
 */
export function awsChildSetup(opts: {
  prefer: AwsCredentialPath;
  /** Default "enclave". */
  profile?: string;
  region?: string;
  configFile: string;
  endpointUrl: string;
  tokenFile: string;
  token: string;
  /** The helper's command, e.g. [process.execPath, ".../dist/src/cli/main.js", "_aws-credentials"]. */
  credentialProcessCommand: string[];
  tokenDelivery?: "env" | "file";
}): { configText: string; env: Record<string, string> } {
  const profile = opts.profile ?? "enclave";
  const credentialProcess =
    opts.prefer === "process"
      ? credentialProcessLine(opts.credentialProcessCommand, opts.endpointUrl, opts.tokenFile)
      : undefined;
  return {
    configText: renderAwsConfig({
      profile,
      ...(opts.region ? { region: opts.region } : {}),
      ...(credentialProcess ? { credentialProcess } : {}),
    }),
    env: awsChildEnv({
      configFile: opts.configFile,
      profile,
      ...(opts.region ? { region: opts.region } : {}),
      endpointUrl: opts.endpointUrl,
      tokenFile: opts.tokenFile,
      token: opts.token,
      ...(opts.tokenDelivery ? { tokenDelivery: opts.tokenDelivery } : {}),
    }),
  };
}
