import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadConfig, saveConfig } from "../../src/config/config.js";
import { formatDuration, parseDuration } from "../../src/config/duration.js";
import { defaultRuntimeDir, resolvePaths } from "../../src/config/paths.js";
import { UsageError } from "../../src/errors.js";

test("durations parse and format", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("2d"), 172_800_000);
  for (const bad of ["", "8", "h", "1.5h", "-1h", "0s", "8 hours"])
    assert.throws(() => parseDuration(bad), UsageError, bad);
  assert.equal(formatDuration(5_400_000), "1h30m");
});

test("paths follow ENCLAVE_HOME / ENCLAVE_RUNTIME_DIR, then XDG_RUNTIME_DIR, then /dev/shm", () => {
  const p = resolvePaths({ ENCLAVE_HOME: "/x/home", ENCLAVE_RUNTIME_DIR: "/dev/shm/rt", HOME: "/h" });
  assert.equal(p.vaultFile, "/x/home/vault.enc");
  assert.equal(p.runtimeDir, "/dev/shm/rt");
  assert.equal(resolvePaths({ HOME: "/h" }).home.endsWith("/.enclave"), true);
  assert.equal(defaultRuntimeDir({ XDG_RUNTIME_DIR: "/run/user/1000" }), "/run/user/1000/enclave");
  assert.match(defaultRuntimeDir({}), /^\/dev\/shm\/enclave-/);
});

test("config.yaml: missing is default, round-trips, is written 0600, rejects junk with the file named", () => {
  const d = mkdtempSync(join(tmpdir(), "enclave-cfg-"));
  const f = join(d, "config.yaml");
  try {
    assert.deepEqual(loadConfig(f), { version: 1 });
    saveConfig(f, { version: 1, remote: "s3://b/k", unlockTtl: "2h" });
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(loadConfig(f), { version: 1, remote: "s3://b/k", unlockTtl: "2h" });
    assert.match(readFileSync(f, "utf8"), /remote: s3:\/\/b\/k/);
    writeFileSync(f, "version: 2\n");
    assert.throws(() => loadConfig(f), new RegExp(`${f} is invalid \\(version`));
    writeFileSync(f, "a: [\n");
    assert.throws(() => loadConfig(f), /not valid YAML/);
  } finally {
    rmSync(d, { recursive: true });
  }
});
