/**
 * The generated AWS config and the child's AWS variables. The credential_process command line is
 * checked with the two parsers that read it: /bin/sh (the JavaScript SDK runs it with exec) and
 * Python's shlex (the AWS CLI splits it).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { UsageError } from "../../../src/errors.js";
import { awsChildEnv, commandLine, renderAwsConfig } from "../../../src/providers/aws/config-file.js";
import { validateRegion } from "../../../src/providers/aws/grant.js";

const ARGS = [
  "/usr/bin/node",
  "/opt/my app/dist/src/cli/main.js", // a space
  "_aws-credentials",
  "--url",
  "http://127.0.0.1:41234/aws/deploy/credentials",
  "--token-file",
  "/dev/shm/enclave-1000/runs/r1/it's-token", // a single quote
  "",
  '$HOME `id` \\ "x" *',
];

function viaSh(line: string): string[] {
  const out = execFileSync("/bin/sh", ["-c", `for a in ${line}; do printf '%s\\0' "$a"; done`], {
    encoding: "utf8",
  });
  return out.split("\0").slice(0, -1);
}

function viaShlex(line: string): string[] {
  const out = execFileSync(
    "python3",
    ["-c", "import json,shlex,sys; print(json.dumps(shlex.split(sys.argv[1])))", line],
    {
      encoding: "utf8",
    },
  );
  return JSON.parse(out) as string[];
}

test("commandLine quotes so that sh and shlex both get the arguments back exactly", () => {
  const line = commandLine(ARGS);
  assert.ok(
    line.startsWith("/usr/bin/node '/opt/my app/dist/src/cli/main.js' _aws-credentials --url http://"),
  );
  // sh's `for a in LINE` would glob and split unquoted words; every odd word here is quoted
  assert.deepEqual(viaShlex(line), ARGS);
  assert.deepEqual(viaSh(line), ARGS);
});

test("the profile: region and credential_process, or region only for the container endpoint", () => {
  const cmd = commandLine(ARGS.slice(0, 7));
  assert.equal(
    renderAwsConfig({ profile: "enclave", region: "eu-west-1", credentialProcess: cmd }),
    "# Written by enclave for one run; removed when the run ends.\n" +
      "[profile enclave]\nregion = eu-west-1\n" +
      `credential_process = ${cmd}\n`,
  );
  assert.equal(
    renderAwsConfig({ profile: "default" }),
    "# Written by enclave for one run; removed when the run ends.\n[default]\n",
  );
});

test("every name `grant aws` accepts can be written: enclave-<longest grant name>, any valid region", () => {
  const profile = `enclave-${"g".repeat(64)}`;
  assert.match(
    renderAwsConfig({ profile, region: "us-gov-west-1" }),
    /^\[profile enclave-g{64}\]\nregion = us-gov-west-1$/m,
  );
  for (const region of ["us-east-1", "cn-north-1", "ap-southeast-2"]) {
    assert.equal(validateRegion(region, region.startsWith("cn-") ? "aws-cn" : "aws"), region);
    assert.match(renderAwsConfig({ profile: "p", region }), new RegExp(`region = ${region}\n`));
  }
  for (const region of ["eu west", "local", "us-east"]) {
    assert.throws(() => validateRegion(region, "aws"), /not an AWS region name/);
    assert.throws(() => renderAwsConfig({ profile: "p", region }), /not an AWS region name/);
  }
  assert.throws(() => renderAwsConfig({ profile: "x".repeat(129) }), /must be 1–128 letters/);
});

test("what the config parsers would misread is refused", () => {
  const bad: [Parameters<typeof renderAwsConfig>[0], RegExp][] = [
    [{ profile: "my profile" }, /profile name "my profile"/],
    [{ profile: "x]\n[default" }, /profile name/],
    [{ profile: "p", region: "eu west" }, /not an AWS region/],
    [{ profile: "p", credentialProcess: "node a.js\n[profile other]" }, /one non-empty line/],
    [{ profile: "p", credentialProcess: " node a.js" }, /without outer spaces/],
    [{ profile: "p", credentialProcess: "" }, /non-empty/],
    [{ profile: "p", credentialProcess: commandLine(["node", "/tmp/a #b/x.js"]) }, /reads as a comment/],
    [{ profile: "p", credentialProcess: "node x.js ;rm" }, /reads as a comment/],
  ];
  for (const [opts, why] of bad)
    assert.throws(
      () => renderAwsConfig(opts),
      (e: unknown) => e instanceof UsageError && why.test(e.message),
      JSON.stringify(opts),
    );
});

test("the child's variables: config, profile, region, the endpoint with its token; no credentials file", () => {
  const base = {
    configFile: "/dev/shm/r/aws-config",
    profile: "enclave",
    endpointUrl: "http://127.0.0.1:4000/aws/deploy/credentials",
    tokenFile: "/dev/shm/r/aws-token",
    token: "tok",
  };
  assert.deepEqual(awsChildEnv({ ...base, region: "eu-west-1" }), {
    AWS_CONFIG_FILE: "/dev/shm/r/aws-config",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_PROFILE: "enclave",
    AWS_CONTAINER_CREDENTIALS_FULL_URI: "http://127.0.0.1:4000/aws/deploy/credentials",
    AWS_CONTAINER_AUTHORIZATION_TOKEN: "tok",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "eu-west-1",
  });
  const fileForm = awsChildEnv({ ...base, tokenDelivery: "file" });
  assert.equal(fileForm.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, "/dev/shm/r/aws-token");
  assert.equal(fileForm.AWS_CONTAINER_AUTHORIZATION_TOKEN, undefined, "never both: the JS SDK warns");
  assert.equal(fileForm.AWS_REGION, undefined);
  for (const k of Object.keys(fileForm))
    assert.ok(!/ACCESS_KEY|SECRET|SESSION_TOKEN/.test(k), `${k} must not be set for the child`);
});
