/**
 * bin/enclave, the `enclave` command: it finds the CLI through npm's symlink, passes every argument
 * and the exit code through, and starts `scan` (only scan) without NODE_EXTRA_CA_CERTS.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { REPO } from "../helpers/cli.js";

const LAUNCHER = join(REPO, "bin/enclave");
const scratch = mkdtempSync(join(tmpdir(), "enclave-launcher-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = scratch) {
  const r = spawnSync(cmd, args, { env, cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A prefix as `npm link` makes it: bin/enclave, a relative link to lib/node_modules/enclave/bin/enclave,
 * where lib/node_modules/enclave is a link to the package.
 */
function linkedBin(): string {
  const prefix = join(scratch, "npm-prefix");
  if (!existsSync(prefix)) {
    mkdirSync(join(prefix, "lib/node_modules"), { recursive: true });
    mkdirSync(join(prefix, "bin"));
    symlinkSync(REPO, join(prefix, "lib/node_modules/enclave"));
    symlinkSync("../lib/node_modules/enclave/bin/enclave", join(prefix, "bin/enclave"));
  }
  return join(prefix, "bin/enclave");
}

/** A `node` first on PATH that reports what it was started with, instead of running anything. */
function reportingNode(): string {
  const bin = join(scratch, "reporting-node");
  mkdirSync(bin, { recursive: true });
  const node = join(bin, "node");
  writeFileSync(
    node,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's own ${VAR-default}
    '#!/bin/sh\nprintf "NODE_EXTRA_CA_CERTS=%s\\n" "${NODE_EXTRA_CA_CERTS-(unset)}"\nfor a; do printf "arg=%s\\n" "$a"; done\nexit 7\n',
  );
  chmodSync(node, 0o755);
  return bin;
}

describe("bin/enclave", () => {
  const env = {
    ...process.env,
    ENCLAVE_HOME: join(scratch, "home"),
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
  };

  const version = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version as string;

  it("runs the CLI through npm's links, from any folder", () => {
    const r = run(linkedBin(), ["--version"], env, tmpdir());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  it("started by name (`bash enclave`, found on PATH), finds itself there, not in the current folder", () => {
    // A dist/ above the current folder that must not run.
    const decoy = join(scratch, "decoy");
    mkdirSync(join(decoy, "dist/src/cli"), { recursive: true });
    mkdirSync(join(decoy, "work"), { recursive: true });
    writeFileSync(join(decoy, "dist/src/cli/main.js"), 'console.log("decoy ran");\n');
    const r = run(
      "bash",
      ["enclave", "--version"],
      { ...env, PATH: `${dirname(linkedBin())}:${env.PATH}` },
      join(decoy, "work"),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), version);
  });

  it("passes arguments and the exit code through (a scan that finds a key exits 1)", () => {
    const tree = join(scratch, "tree");
    mkdirSync(tree, { recursive: true });
    // A key from the labelled corpus, split so that this file does not hold it.
    writeFileSync(join(tree, "deploy.sh"), `aws_access_key_id = ${"AK"}IA3FFLNUPC2G6EL73Y\n`);
    const r = run(LAUNCHER, ["scan", tree, "--format", "json"], env);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { findings: { ruleId: string; path: string }[] };
    assert.deepEqual(
      out.findings.map((f) => [f.ruleId, f.path]),
      [["aws-access-key-id", "deploy.sh"]],
    );
  });

  it("starts scan without NODE_EXTRA_CA_CERTS and every other command with it", () => {
    const withCa = {
      ...env,
      PATH: `${reportingNode()}:${env.PATH}`,
      NODE_EXTRA_CA_CERTS: "/etc/ssl/extra.pem",
    };
    const scan = run(LAUNCHER, ["scan", "some dir", "--format", "json"], withCa);
    assert.equal(scan.code, 7, "the exit code of node is the launcher's");
    assert.deepEqual(scan.stdout.trim().split("\n"), [
      "NODE_EXTRA_CA_CERTS=(unset)",
      `arg=${REPO}/bin/../dist/src/cli/main.js`,
      "arg=scan",
      "arg=some dir",
      "arg=--format",
      "arg=json",
    ]);
    for (const args of [["push"], ["run", "--", "scan"], ["--version"]]) {
      const r = run(LAUNCHER, args, withCa);
      assert.equal(r.stdout.split("\n")[0], "NODE_EXTRA_CA_CERTS=/etc/ssl/extra.pem", args.join(" "));
    }
  });
});
