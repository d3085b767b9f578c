/**
 * Telling "log in again with `aws sso login`" apart from "misconfigured" in an AWS credential
 * error. Shared by bootstrap (which runs the login) and grants/runs (which say to run it).
 * Loads nothing from the AWS SDK.
 */
export function needsSsoLogin(e: unknown): boolean {
  const msg = `${(e as Error)?.name ?? ""} ${(e as Error)?.message ?? ""}`;
  // Not any "token … invalid": InvalidClientTokenId means wrong static keys, which no login fixes.
  return /sso|token (is )?expired|UnauthorizedException|refresh.*token/i.test(msg);
}
