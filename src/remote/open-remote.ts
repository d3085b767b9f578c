/** Build the Remote for a URL and the AWS settings (explicit options win over config.yaml). */
import { type Config, definedOnly } from "../config/config.js";
import { FileRemote } from "./file-remote.js";
import { DEFAULT_HISTORY_RETENTION, type Remote } from "./remote.js";
import { type AwsOptions, makeS3Client } from "./s3-client.js";
import { S3Remote } from "./s3-remote.js";
import { parseRemoteUrl } from "./url.js";

export function openRemote(
  url: string,
  config: Config,
  overrides: AwsOptions = {},
  env = process.env,
): Remote {
  const loc = parseRemoteUrl(url);
  const retention = config.historyRetention ?? DEFAULT_HISTORY_RETENTION;
  if (loc.kind === "file") return new FileRemote(loc.path, retention);
  const aws: AwsOptions = { ...config.aws, ...definedOnly(overrides) };
  return new S3Remote(makeS3Client(aws, env), loc.bucket, loc.key, retention);
}
