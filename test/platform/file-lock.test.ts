import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { EnclaveError } from "../../src/errors.js";
import { type FileLockOptions, withFileLock } from "../../src/platform/file-lock.js";

const quick: FileLockOptions = {
  staleMs: 5_000,
  updateMs: 1_000,
  retries: { retries: 3, minTimeout: 10, maxTimeout: 20 },
  busy: { what: "the thing", hint: "try again" },
};

function tempDir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), "enclave-lock-"));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test("holders of one lock take turns; the lock directory is gone afterwards", async (t) => {
  const lock = join(tempDir(t), "x.lock");
  const events: string[] = [];
  const holder = (name: string) =>
    withFileLock(
      lock,
      async () => {
        events.push(`${name} in`);
        assert.ok(existsSync(lock));
        await sleep(50);
        events.push(`${name} out`);
        return name;
      },
      { ...quick, retries: { retries: 50, minTimeout: 10, maxTimeout: 20 } },
    );
  assert.deepEqual(await Promise.all([holder("a"), holder("b")]), ["a", "b"]);
  assert.deepEqual(events, ["a in", "a out", "b in", "b out"]);
  assert.equal(existsSync(lock), false);
});

test("a lock held elsewhere fails with the caller's message, as an EnclaveError (exit 1)", async (t) => {
  const lock = join(tempDir(t), "x.lock");
  mkdirSync(lock); // a live holder: fresh mtime
  let ran = false;
  await assert.rejects(
    withFileLock(
      lock,
      () => {
        ran = true;
      },
      quick,
    ),
    (e: unknown) => {
      assert.ok(e instanceof EnclaveError);
      assert.equal(e.exitCode, 1);
      assert.equal(
        e.message,
        `the thing is busy (another enclave process holds ${lock}): Lock file is already being held; try again`,
      );
      return true;
    },
  );
  assert.equal(ran, false);
  assert.ok(existsSync(lock), "someone else's lock is left alone");
});

test("a lock not refreshed for staleMs is taken over", async (t) => {
  const lock = join(tempDir(t), "x.lock");
  mkdirSync(lock);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  assert.equal(await withFileLock(lock, () => 42, quick), 42);
  assert.equal(existsSync(lock), false);
});

test("the lock is released when fn throws, and the error is fn's", async (t) => {
  const lock = join(tempDir(t), "x.lock");
  await assert.rejects(
    withFileLock(
      lock,
      () => {
        throw new Error("boom");
      },
      quick,
    ),
    /^Error: boom$/,
  );
  assert.equal(existsSync(lock), false);
  assert.equal(await withFileLock(lock, () => "again", quick), "again");
});

test("two different locks in one folder, held one inside the other, are both released", async (t) => {
  // proper-lockfile keys its in-process table by the path it is given: two locks next to each
  // other (the vault lock and a file remote in the same folder) must not share an entry.
  const dir = tempDir(t);
  const outer = join(dir, "outer.lock");
  const inner = join(dir, "inner.lock");
  await withFileLock(
    outer,
    () =>
      withFileLock(
        inner,
        () => {
          assert.ok(existsSync(outer) && existsSync(inner));
        },
        quick,
      ),
    quick,
  );
  assert.equal(existsSync(inner), false);
  assert.equal(existsSync(outer), false);
});
