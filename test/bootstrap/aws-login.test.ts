import assert from "node:assert/strict";
import { test } from "node:test";
import { needsSsoLogin } from "../../src/bootstrap/aws-login.js";

test("SSO token problems ask for `aws sso login`; other credential errors do not", () => {
  const err = (name: string, message: string) => Object.assign(new Error(message), { name });
  for (const e of [
    err(
      "CredentialsProviderError",
      "The SSO session associated with this profile has expired or is otherwise invalid.",
    ),
    err("TokenProviderError", "SSO Token is expired. To refresh this SSO session run 'aws sso login'"),
    err("CredentialsProviderError", "The SSO token for profile team could not be found"),
    err("UnauthorizedException", "Session token not found or invalid"),
  ])
    assert.equal(needsSsoLogin(e), true, e.message);
  for (const e of [
    err("CredentialsProviderError", "Could not load credentials from any providers"),
    err("InvalidClientTokenId", "The security token included in the request is invalid."),
    err("AccessDenied", "User is not authorized to perform: sts:GetCallerIdentity"),
  ])
    assert.equal(needsSsoLogin(e), false, e.message);
});
