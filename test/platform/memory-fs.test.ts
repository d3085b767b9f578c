import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { activeSwap, checkMemoryFs } from "../../src/platform/memory-fs.js";

test("/dev/shm is recognised as RAM; a missing path is judged by its nearest existing parent", () => {
  const shm = checkMemoryFs("/dev/shm/enclave-does-not-exist/deeper");
  assert.equal(shm.inMemory, true);
  assert.equal(shm.type, "tmpfs");
  assert.equal(shm.checkedPath, "/dev/shm");
});

test("a disk-backed folder is not RAM", () => {
  const d = mkdtempSync(join(tmpdir(), "enclave-fs-"));
  try {
    const r = checkMemoryFs(d);
    // The test machine's tmpdir is on disk; if it ever is tmpfs this check says so truthfully.
    assert.equal(r.inMemory, r.type === "tmpfs" || r.type === "ramfs");
    if (!r.inMemory) assert.match(r.type, /^0x[0-9a-f]+$/);
  } finally {
    rmSync(d, { recursive: true });
  }
});

test("swap detection reads /proc/swaps-style tables", () => {
  const d = mkdtempSync(join(tmpdir(), "enclave-swap-"));
  try {
    const none = join(d, "none");
    writeFileSync(none, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    assert.deepEqual(activeSwap(none), []);
    const some = join(d, "some");
    writeFileSync(
      some,
      "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/swapfile                               file\t\t2097148\t\t0\t\t-2\n/dev/zram0 partition 100 0 100\n",
    );
    assert.deepEqual(activeSwap(some), ["/swapfile", "/dev/zram0"]);
    assert.deepEqual(activeSwap(join(d, "missing")), []);
  } finally {
    rmSync(d, { recursive: true });
  }
});
