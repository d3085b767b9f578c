/**
 * IAM role ARNs, checked the way IAM itself defines them, so that a typo is caught at
 * `enclave grant aws` time rather than at the first run:
 *
 *   arn:PARTITION:iam::ACCOUNT:role/NAME
 *   arn:PARTITION:iam::ACCOUNT:role/PATH/NAME      (PATH = one or more segments)
 *
 * - PARTITION: aws, aws-cn or aws-us-gov.
 * - The region field is empty: IAM is a global service.
 * - ACCOUNT: exactly 12 digits.
 * - NAME: 1–64 characters of `[A-Za-z0-9_+=,.@-]` (IAM's RoleName pattern).
 * - PATH: IAM's path pattern `/` or `/[\u0021-\u007E]+/`, at most 512 characters. Printable ASCII,
 *   so a path may contain `:` — the resource part is everything after the fifth `:`, never split
 *   further.
 */
import { UsageError } from "../../errors.js";

export type AwsPartition = "aws" | "aws-cn" | "aws-us-gov";

export interface RoleArn {
  partition: AwsPartition;
  account: string;
  /** The role's IAM path, `/` when it has none; always starts and ends with `/`. */
  path: string;
  name: string;
  /** The ARN as given (it is already canonical once it parses). */
  arn: string;
}

export const PARTITIONS: readonly AwsPartition[] = ["aws", "aws-cn", "aws-us-gov"];

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const MAX_PATH = 512;
/** IAM's path pattern: printable ASCII without space, between slashes. */
const PATH_CHARS = /^[\u0021-\u007e]*$/;

function bad(s: string, why: string): UsageError {
  return new UsageError(
    `--role "${s}" is not an IAM role ARN: ${why}. Expected arn:aws:iam::123456789012:role/NAME ` +
      "(or …:role/PATH/NAME; partitions aws, aws-cn, aws-us-gov)",
  );
}

export function parseRoleArn(s: string): RoleArn {
  if (s !== s.trim() || s.length === 0) throw bad(s, "it is empty or has leading/trailing spaces");
  const parts = s.split(":");
  if (parts.length < 6 || parts[0] !== "arn") throw bad(s, 'it must have the form "arn:…:…:…:…:…"');
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  // Everything after the fifth ':' is the resource, colons included (a role path may hold one).
  const resource = parts.slice(5).join(":");
  if (!(PARTITIONS as readonly string[]).includes(partition))
    throw bad(s, `unknown partition "${partition}" (use ${PARTITIONS.join(", ")})`);
  if (service === "sts" && resource.startsWith("assumed-role/"))
    throw bad(
      s,
      "that is an assumed-role session ARN (what GetCallerIdentity prints); use the role's own ARN, " +
        `arn:${partition}:iam::ACCOUNT:role/ROLE_NAME`,
    );
  if (service !== "iam") throw bad(s, `the service must be "iam", not "${service}"`);
  if (region !== "") throw bad(s, `IAM ARNs have no region ("${region}" given; write "iam::")`);
  if (!/^\d{12}$/.test(account)) throw bad(s, `the account must be exactly 12 digits, not "${account}"`);
  const slash = resource.indexOf("/");
  const type = slash < 0 ? resource : resource.slice(0, slash);
  if (type !== "role") throw bad(s, `it names "${type}", not a role`);
  if (slash < 0) throw bad(s, 'the role name is missing (write "role/NAME")');
  const rest = resource.slice(slash + 1); // PATH-less: "NAME"; with a path: "a/b/NAME"
  const lastSlash = rest.lastIndexOf("/");
  const name = rest.slice(lastSlash + 1);
  const path = lastSlash < 0 ? "/" : `/${rest.slice(0, lastSlash + 1)}`;
  if (name.length === 0) throw bad(s, "the role name is missing (it must not end with /)");
  if (!ROLE_NAME.test(name))
    throw bad(
      s,
      `the role name "${name}" must be 1–64 characters of letters, digits and _+=,.@- ` +
        (name.length > 64 ? `(it has ${name.length})` : "(no other characters)"),
    );
  if (path.length > MAX_PATH) throw bad(s, `the role path is longer than ${MAX_PATH} characters`);
  if (!PATH_CHARS.test(path))
    throw bad(s, "the role path may hold only printable ASCII characters, no spaces");
  if (path !== "/" && path.length < 3) throw bad(s, 'the role path is empty between slashes ("role//NAME")');
  return { partition: partition as AwsPartition, account, path, name, arn: s };
}
