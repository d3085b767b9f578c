/**
 * The privacy check shared by the runtime and runs directories (assertPrivateDir) and the
 * credential_process token file (privacyProblem on the open file).
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  closeSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { EnclaveError } from "../../src/errors.js";
import { assertPrivateDir, privacyProblem } from "../../src/platform/private-dir.js";

const dir = mkdtempSync(join(tmpdir(), "enclave-private-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("directories: private passes; open, symlinked or not a directory fails with the fix", () => {
  const ok = join(dir, "ok");
  mkdirSync(ok, { mode: 0o700 });
  assertPrivateDir(ok, "runtime directory", "fix it");
  const open = join(dir, "open");
  mkdirSync(open);
  chmodSync(open, 0o750);
  const link = join(dir, "link");
  symlinkSync(ok, link);
  const file = join(dir, "file");
  writeFileSync(file, "", { mode: 0o600 });
  for (const [p, why] of [
    [open, `runtime directory ${open} is accessible to others (mode 750); fix it`],
    [link, `runtime directory ${link} is a symlink; fix it`],
    [file, `runtime directory ${file} is not a directory; fix it`],
  ] as const)
    assert.throws(
      () => assertPrivateDir(p, "runtime directory", "fix it"),
      (e: unknown) => e instanceof EnclaveError && e.message === why,
    );
});

test("files, as the token file is checked (fstat of the open file)", () => {
  const token = join(dir, "token");
  writeFileSync(token, "t", { mode: 0o600 });
  const fstat = (p: string) => {
    const fd = openSync(p, "r");
    try {
      return fstatSync(fd);
    } finally {
      closeSync(fd);
    }
  };
  assert.equal(privacyProblem(fstat(token), "file"), undefined);
  chmodSync(token, 0o604);
  assert.equal(privacyProblem(fstat(token), "file"), "is accessible to others (mode 604)");
  assert.equal(privacyProblem(fstat(dir), "file"), "is not a regular file");
  assert.equal(privacyProblem(lstatSync(dir), "directory"), undefined);
  // Another user's file: / belongs to root (unless the tests run as root).
  if (process.getuid?.() !== 0)
    assert.equal(privacyProblem(lstatSync("/"), "directory"), "belongs to another user (uid 0)");
});
