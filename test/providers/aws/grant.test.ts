/**
 * `enclave grant aws` configuration: validation tables, and the grant-time AssumeRole against
 * moto_server (through a recorder that shows what was sent, and stands in for the refusals moto
 * never makes).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { UsageError } from "../../../src/errors.js";
import {
  type AwsGrantConfig,
  validateAwsGrant,
  validateSessionPolicy,
  verifyAwsGrant,
} from "../../../src/providers/aws/grant.js";
import { AwsCredentialError } from "../../../src/providers/aws/sts.js";
import { baseAwsEnv, useMotoStsRecorder } from "../../helpers/aws.js";
import { type StsRecorder, startStsRecorder } from "../../helpers/sts-recorder.js";

// Never let the SDK's chain probe the EC2 metadata address from a test.
process.env.AWS_EC2_METADATA_DISABLED = "true";
const ROLE = "arn:aws:iam::123456789012:role/deploy";
const dir = mkdtempSync(join(tmpdir(), "enclave-aws-grant-"));
const fx = useMotoStsRecorder();
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const usage = (re: RegExp) => (e: unknown) =>
  e instanceof UsageError && e.exitCode === 2 && re.test(e.message);

// ---- validation ----

test("durations from 15m to 12h, in any unit; the default is 1h", () => {
  const ok: [string, number][] = [
    ["15m", 900],
    ["900s", 900],
    ["90m", 5400],
    ["1h", 3600],
    ["1h30m", 5400],
    ["3600s", 3600],
    ["12h", 43200],
    ["43200s", 43200],
    ["11h59m60s", 43200],
  ];
  for (const [d, s] of ok) assert.equal(validateAwsGrant({ role: ROLE, duration: d }).durationSeconds, s, d);
  assert.equal(validateAwsGrant({ role: ROLE }).durationSeconds, 3600);
  const bad: [string, RegExp][] = [
    ["14m59s", /outside what STS allows: 15m \(900s\) to 12h \(43200s\)/],
    ["899s", /outside/],
    ["12h1s", /outside/],
    ["1d", /outside/],
    ["0m", /longer than zero/],
    ["15", /not a duration/],
    ["1.5h", /not a duration/],
    ["", /not a duration/],
    ["-15m", /not a duration/],
  ];
  for (const [d, why] of bad)
    assert.throws(() => validateAwsGrant({ role: ROLE, duration: d }), usage(why), d);
});

test("regions are checked against the role's partition", () => {
  assert.equal(validateAwsGrant({ role: ROLE, region: "eu-central-1" }).region, "eu-central-1");
  assert.equal(
    validateAwsGrant({ role: "arn:aws-cn:iam::123456789012:role/r", region: "cn-northwest-1" }).region,
    "cn-northwest-1",
  );
  assert.equal(
    validateAwsGrant({ role: "arn:aws-us-gov:iam::123456789012:role/r", region: "us-gov-east-1" }).region,
    "us-gov-east-1",
  );
  const bad: [string, string, RegExp][] = [
    [ROLE, "EU-CENTRAL-1", /not an AWS region name/],
    [ROLE, "useast1", /not an AWS region name/],
    [ROLE, "cn-north-1", /not in the role's partition "aws".*cn-… regions belong to aws-cn/],
    [ROLE, "us-gov-west-1", /not in the role's partition "aws"/],
    ["arn:aws-cn:iam::123456789012:role/r", "us-east-1", /partition "aws-cn" \(use a cn-… region\)/],
    ["arn:aws-us-gov:iam::123456789012:role/r", "us-east-1", /use a us-gov-… region/],
  ];
  for (const [role, region, why] of bad)
    assert.throws(() => validateAwsGrant({ role, region }), usage(why), region);
});

test("external ids follow STS's charset and length (2–1224)", () => {
  for (const id of ["ab", "tenant:42/prod@x+y=z,w.v-u_t", "x".repeat(1224)])
    assert.equal(validateAwsGrant({ role: ROLE, externalId: id }).externalId, id);
  for (const id of ["a", "x".repeat(1225), "has space", "semi;colon", "ünïcode"])
    assert.throws(() => validateAwsGrant({ role: ROLE, externalId: id }), usage(/2–1224 characters/), id);
});

test("source profile names are checked; a bad role ARN fails first", () => {
  assert.equal(validateAwsGrant({ role: ROLE, sourceProfile: "ops-sso" }).sourceProfile, "ops-sso");
  assert.throws(
    () => validateAwsGrant({ role: ROLE, sourceProfile: "my profile" }),
    usage(/not a profile name/),
  );
  assert.throws(() => validateAwsGrant({ role: ROLE, sourceProfile: "" }), usage(/not a profile name/));
  assert.throws(() => validateAwsGrant({ role: "nope", duration: "1m" }), usage(/--role "nope"/));
});

const S3_READ = {
  Version: "2012-10-17",
  Statement: [{ Sid: "Read", Effect: "Allow", Action: ["s3:GetObject"], Resource: "arn:aws:s3:::b/*" }],
};

test("a session policy file is parsed, checked and stored minified", () => {
  const pretty = JSON.stringify(S3_READ, null, 8);
  const cfg = validateAwsGrant({ role: ROLE, policyFile: file("p.json", pretty) });
  assert.equal(cfg.policy, JSON.stringify(S3_READ));
  // 2,048 counts the minified text: a pretty file larger than that is fine if it packs below.
  const many = {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: Array.from({ length: 60 }, (_, i) => `s3:Op${i}`), Resource: "*" },
    ],
  };
  const roomy = JSON.stringify(many, null, 12);
  assert.ok(roomy.length > 2048 && JSON.stringify(many).length <= 2048);
  assert.equal(validateSessionPolicy(roomy), JSON.stringify(many));
  // a single statement object is allowed, as is NotAction/NotResource, Condition, Id, Deny
  validateSessionPolicy(
    JSON.stringify({
      Version: "2012-10-17",
      Id: "x",
      Statement: {
        Effect: "Deny",
        NotAction: "s3:*",
        NotResource: ["*"],
        Condition: { Bool: { "aws:x": "true" } },
      },
    }),
  );
});

test("policy files that are not session policies are refused with the reason", () => {
  const st = (extra: object) => JSON.stringify({ Version: "2012-10-17", Statement: [{ ...extra }] });
  const base = { Effect: "Allow", Action: "s3:*", Resource: "*" };
  const bad: [string, RegExp][] = [
    ["{", /not valid JSON/],
    ["[]", /must be a JSON object with Version and Statement/],
    ['"x"', /must be a JSON object/],
    [JSON.stringify({ Statement: [base] }), /Version must be "2012-10-17"/],
    [JSON.stringify({ Version: "2012-10-18", Statement: [base] }), /Version must be/],
    [JSON.stringify({ Version: "2012-10-17" }), /Statement is missing or empty/],
    [JSON.stringify({ Version: "2012-10-17", Statement: [] }), /Statement is missing or empty/],
    [JSON.stringify({ Version: "2012-10-17", Statement: [base], Foo: 1 }), /unknown element "Foo"/],
    [JSON.stringify({ Version: "2012-10-17", Statement: ["x"] }), /Statement\[0\] is not an object/],
    [st({ ...base, Effect: "allow" }), /Effect must be "Allow" or "Deny"/],
    [st({ Effect: "Allow", Resource: "*" }), /exactly one of Action or NotAction/],
    [st({ ...base, NotAction: "iam:*" }), /exactly one of Action or NotAction/],
    [st({ ...base, Action: [] }), /non-empty list of strings/],
    [st({ ...base, Action: 3 }), /Action\/NotAction must be a string/],
    [st({ Effect: "Allow", Action: "s3:*" }), /exactly one of Resource or NotResource/],
    [st({ ...base, Resource: [""] }), /Resource\/NotResource must be/],
    [st({ ...base, Principal: { AWS: "*" } }), /Principal belongs in a trust policy/],
    [st({ ...base, Condition: "x" }), /Condition must be an object/],
    [st({ ...base, Sid: "π" }), /contains "π"; STS accepts only characters up to U\+00FF/],
    [
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: Array.from({ length: 200 }, (_, i) => `s3:Op${i}`), Resource: "*" },
        ],
      }),
      /characters once minified; STS allows at most 2048/,
    ],
  ];
  for (const [text, why] of bad)
    assert.throws(
      () => validateAwsGrant({ role: ROLE, policyFile: file("bad.json", text) }),
      usage(why),
      text,
    );
  assert.throws(
    () => validateAwsGrant({ role: ROLE, policyFile: join(dir, "missing.json") }),
    usage(/cannot read it \(ENOENT\)/),
  );
  assert.throws(
    () => validateAwsGrant({ role: ROLE, policyFile: file("huge.json", " ".repeat(70_000)) }),
    usage(/must fit in 2048 characters/),
  );
});

// ---- verification against moto ----

/** moto's dummy keys and the recorder as STS; no profile, no config files of the host. */
function motoEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...baseAwsEnv(fx.moto, fx.rec.endpoint),
    AWS_CONFIG_FILE: file("empty-config", ""),
    AWS_SHARED_CREDENTIALS_FILE: file("empty-credentials", ""),
    ...extra,
  };
}

function cfgWith(extra: Partial<AwsGrantConfig> = {}): AwsGrantConfig {
  return { role: ROLE, durationSeconds: 1800, ...extra };
}

const failsWith = (code: string, re: RegExp) => (e: unknown) =>
  e instanceof AwsCredentialError && e.exitCode === 1 && e.code === code && re.test(e.message);

test("verify assumes the role once with every setting of the grant, SourceIdentity included", async () => {
  fx.rec.calls.length = 0;
  fx.rec.fault = undefined;
  const cfg = validateAwsGrant({
    role: ROLE,
    duration: "30m",
    externalId: "tenant-42",
    policyFile: file("ok.json", JSON.stringify(S3_READ)),
  });
  const v = await verifyAwsGrant(cfg, { env: motoEnv() });
  assert.match(v.assumedRoleArn, /^arn:aws:sts::123456789012:assumed-role\/deploy\/enclave-verify-\d+$/);
  assert.match(v.sourceIdentity ?? "", /^enclave-verify-\d+$/);
  assert.match(v.source, /environment keys/);
  const [call, ...more] = fx.rec.assumeCalls();
  assert.equal(more.length, 0);
  assert.equal(call?.RoleArn, ROLE);
  assert.equal(call?.DurationSeconds, "1800");
  assert.equal(call?.ExternalId, "tenant-42");
  assert.equal(call?.Policy, JSON.stringify(S3_READ));
  assert.equal(call?.SourceIdentity, v.sourceIdentity);
});

test("a role that refuses SourceIdentity still verifies, without it", async () => {
  fx.rec.calls.length = 0;
  fx.rec.fault = (c) =>
    c.Action === "AssumeRole" && c.SourceIdentity
      ? {
          status: 403,
          code: "AccessDenied",
          message: `User: arn:aws:iam::123456789012:user/moto is not authorized to perform: sts:SetSourceIdentity on resource: ${ROLE}`,
        }
      : undefined;
  try {
    const v = await verifyAwsGrant(cfgWith(), { env: motoEnv() });
    assert.equal(v.sourceIdentity, undefined);
    assert.match(v.assumedRoleArn, /assumed-role\/deploy\/enclave-verify-/);
    assert.deepEqual(
      fx.rec.assumeCalls().map((c) => Boolean(c.SourceIdentity)),
      [true, false],
    );
  } finally {
    fx.rec.fault = undefined;
  }
});

test("a trust policy that refuses the caller is named, with the caller's identity", async () => {
  fx.rec.fault = (c) =>
    c.Action === "AssumeRole"
      ? {
          status: 403,
          code: "AccessDenied",
          message: `not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
        }
      : undefined;
  try {
    await assert.rejects(
      verifyAwsGrant(cfgWith({ externalId: "xid-1" }), { env: motoEnv() }),
      failsWith(
        "AccessDenied",
        /trust policy of role arn:aws:iam::123456789012:role\/deploy does not let arn:aws:sts::123456789012:user\/moto assume it.*external id.*base credentials: environment keys/,
      ),
    );
  } finally {
    fx.rec.fault = undefined;
  }
});

test("expired base credentials, a too-long duration and a rejected policy each get their own advice", async () => {
  const cases: [StsRecorderFault, string, RegExp][] = [
    [
      { status: 403, code: "ExpiredToken", message: "The security token included in the request is expired" },
      "ExpiredToken",
      /base AWS credentials have expired \(base credentials: profile "ops" \(--source-profile\)\).*aws sso login --profile ops/,
    ],
    [
      {
        status: 400,
        code: "ValidationError",
        message: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
      },
      "ValidationError",
      /refused a 30m session.*maximum session duration.*shorter --duration/,
    ],
    [
      { status: 400, code: "MalformedPolicyDocument", message: "Syntax errors in policy." },
      "MalformedPolicyDocumentException",
      /rejected the session policy \(--policy\): Syntax errors/,
    ],
    [
      { status: 400, code: "PackedPolicyTooLarge", message: "Packed policy consumes 112% of allotted space" },
      "PackedPolicyTooLargeException",
      /too large once STS packs it/,
    ],
    [
      { status: 403, code: "RegionDisabledException", message: "STS is not activated in this region" },
      "RegionDisabledException",
      /not activated in us-east-1/,
    ],
    [
      {
        status: 403,
        code: "InvalidClientTokenId",
        message: "The security token included in the request is invalid.",
      },
      "InvalidClientTokenId",
      /does not accept the base AWS credentials/,
    ],
  ];
  // The profile holds static keys, so the expired-token advice can name it.
  const config = file(
    "ops-config",
    "[profile ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
  );
  for (const [fault, code, why] of cases) {
    fx.rec.fault = (c) => (c.Action === "AssumeRole" ? fault : undefined);
    try {
      await assert.rejects(
        verifyAwsGrant(cfgWith({ sourceProfile: "ops" }), { env: motoEnv({ AWS_CONFIG_FILE: config }) }),
        failsWith(code, why),
        code,
      );
    } finally {
      fx.rec.fault = undefined;
    }
  }
});
type StsRecorderFault = NonNullable<ReturnType<NonNullable<StsRecorder["fault"]>>>;

test("no credentials: the error names the profile that was tried", async () => {
  await assert.rejects(
    verifyAwsGrant(cfgWith({ sourceProfile: "nowhere" }), { env: motoEnv() }),
    failsWith("NoCredentials", /tried profile "nowhere" \(--source-profile\).*--source-profile P/),
  );
  await assert.rejects(
    verifyAwsGrant(cfgWith(), {
      env: motoEnv({ AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_PROFILE: "gone" }),
    }),
    failsWith("NoCredentials", /tried profile "gone" \(AWS_PROFILE\)/),
  );
});

test("an IAM Identity Center profile without a valid login says to run aws sso login", async () => {
  const config = file(
    "sso-config",
    [
      "[profile corp]",
      `sso_start_url = https://enclave-test-${process.pid}-${Date.now()}.awsapps.com/start`,
      "sso_region = us-east-1",
      "sso_account_id = 123456789012",
      "sso_role_name = Admin",
      "",
    ].join("\n"),
  );
  // The SDK's fromIni reads an SSO profile's settings from the default config file again, not
  // from the file it was given: point process.env at it for this test (the CLI passes process.env).
  const saved = process.env.AWS_CONFIG_FILE;
  process.env.AWS_CONFIG_FILE = config;
  try {
    await assert.rejects(
      verifyAwsGrant(cfgWith({ sourceProfile: "corp" }), { env: motoEnv({ AWS_CONFIG_FILE: config }) }),
      failsWith(
        "SsoLoginRequired",
        /session of profile "corp" is missing or expired: run `aws sso login --profile corp`/,
      ),
    );
  } finally {
    if (saved === undefined) delete process.env.AWS_CONFIG_FILE;
    else process.env.AWS_CONFIG_FILE = saved;
  }
});

test("an unreachable STS endpoint is reported with its address", async () => {
  const closed = await startStsRecorder(fx.moto.endpoint);
  await closed.close();
  await assert.rejects(
    verifyAwsGrant(cfgWith(), { env: motoEnv({ AWS_ENDPOINT_URL_STS: closed.endpoint }) }),
    (e: unknown) =>
      e instanceof AwsCredentialError && e.message.startsWith(`cannot reach STS at ${closed.endpoint}`),
  );
});
