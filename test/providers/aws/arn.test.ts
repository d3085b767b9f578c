import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "../../../src/errors.js";
import { parseRoleArn } from "../../../src/providers/aws/arn.js";

test("role ARNs IAM accepts parse into partition, account, path and name", () => {
  const ok: [string, string, string, string, string][] = [
    ["arn:aws:iam::123456789012:role/deploy", "aws", "123456789012", "/", "deploy"],
    ["arn:aws-cn:iam::000000000000:role/x1", "aws-cn", "000000000000", "/", "x1"],
    ["arn:aws-us-gov:iam::210987654321:role/Gov.Role", "aws-us-gov", "210987654321", "/", "Gov.Role"],
    ["arn:aws:iam::123456789012:role/ci/github/deploy", "aws", "123456789012", "/ci/github/", "deploy"],
    // A path is printable ASCII: it may hold ':' — the resource is everything after the fifth ':'.
    ["arn:aws:iam::123456789012:role/team:a/b:c/r", "aws", "123456789012", "/team:a/b:c/", "r"],
    [
      "arn:aws:iam::123456789012:role/service-role/A_b+c=d,e.f@g-h",
      "aws",
      "123456789012",
      "/service-role/",
      "A_b+c=d,e.f@g-h",
    ],
    [`arn:aws:iam::123456789012:role/${"n".repeat(64)}`, "aws", "123456789012", "/", "n".repeat(64)],
    ["arn:aws:iam::123456789012:role/a///b", "aws", "123456789012", "/a///", "b"],
  ];
  for (const [arn, partition, account, path, name] of ok)
    assert.deepEqual(parseRoleArn(arn), { partition, account, path, name, arn }, arn);
});

test("anything else is a usage error that says what is wrong", () => {
  const bad: [string, RegExp][] = [
    ["", /empty/],
    [" arn:aws:iam::123456789012:role/x", /spaces/],
    ["deploy", /must have the form/],
    ["arn:aws:iam::123456789012", /must have the form/],
    ["arn:aws-iso:iam::123456789012:role/x", /unknown partition "aws-iso" \(use aws, aws-cn, aws-us-gov\)/],
    ["arn:aws:s3:::bucket/key:x", /service must be "iam", not "s3"/],
    ["arn:aws:iam:us-east-1:123456789012:role/x", /no region \("us-east-1" given/],
    ["arn:aws:iam::12345678901:role/x", /exactly 12 digits, not "12345678901"/],
    ["arn:aws:iam::1234567890123:role/x", /exactly 12 digits/],
    ["arn:aws:iam::12345678901a:role/x", /exactly 12 digits/],
    ["arn:aws:iam::123456789012:user/alice", /names "user", not a role/],
    ["arn:aws:iam::123456789012:instance-profile/x", /names "instance-profile", not a role/],
    ["arn:aws:iam::123456789012:role", /role name is missing/],
    ["arn:aws:iam::123456789012:role/", /role name is missing/],
    ["arn:aws:iam::123456789012:role/path/", /role name is missing/],
    ["arn:aws:iam::123456789012:role//x", /empty between slashes/],
    ["arn:aws:iam::123456789012:role/bad name", /role name "bad name" must be 1–64 characters/],
    ["arn:aws:iam::123456789012:role/a:b", /role name "a:b"/],
    [`arn:aws:iam::123456789012:role/${"n".repeat(65)}`, /it has 65/],
    ["arn:aws:iam::123456789012:role/sp ace/x", /printable ASCII/],
    ["arn:aws:iam::123456789012:role/é/x", /printable ASCII/],
    [`arn:aws:iam::123456789012:role/${"p".repeat(511)}/x`, /longer than 512/],
    ["arn:aws:sts::123456789012:assumed-role/deploy/session", /assumed-role session ARN.*role\/ROLE_NAME/],
  ];
  for (const [arn, why] of bad)
    assert.throws(
      () => parseRoleArn(arn),
      (e: unknown) => e instanceof UsageError && e.exitCode === 2 && why.test(e.message),
      `${arn} should fail with ${why}`,
    );
});
