/**
 * Whether TIOCSTI is allowed is read once per process (its own file: the answer is cached for
 * the whole process, so no other test may have asked first).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { tiocstiAllowed } from "../../src/sandbox/sandbox.js";

test("dev.tty.legacy_tiocsti is read once per process", () => {
  let reads = 0;
  assert.equal(
    tiocstiAllowed(() => {
      reads++;
      return "0\n";
    }),
    false,
  );
  assert.equal(
    tiocstiAllowed(() => {
      reads++;
      return "1\n";
    }),
    false,
  );
  assert.equal(tiocstiAllowed(), false);
  assert.equal(reads, 1);
});
