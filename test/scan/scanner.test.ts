/**
 * The working-tree scan on one thread and on two (the helper thread of worker.ts): the same
 * findings, in the same order, and the same counts — whichever thread read which file.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type ScanResult, scan } from "../../src/scan/scanner.js";
import { loadCorpus, textOf } from "./corpus.js";

const root = mkdtempSync(join(tmpdir(), "enclave-scan-threads-"));
after(() => rmSync(root, { recursive: true, force: true }));

const positives = loadCorpus()
  .filter((c) => c.expect === "positive")
  .map(textOf);

// 400 files in 20 folders: corpus positives among filler, binaries, an oversized file, a FIFO-free
// special case (a dangling symlink), and empty files.
for (let i = 0; i < 400; i++) {
  const dir = join(root, `d${i % 20}`);
  mkdirSync(dir, { recursive: true });
  const filler = `const value${i} = compute(${i});\n`.repeat(40 + (i % 50));
  let body = filler;
  if (i % 7 === 0) body = `${filler}${positives[i % positives.length]}\n${filler}`;
  if (i % 31 === 0) body = "";
  if (i % 37 === 0) body = `\0binary${positives[0]}`;
  writeFileSync(join(dir, `f${i}.ts`), body);
}
writeFileSync(join(root, "large.txt"), `${"x".repeat(300_000)}\n${positives[0]}`);
symlinkSync(join(root, "missing"), join(root, "dangling"));

const withoutTime = (r: ScanResult) => ({ ...r, stats: { ...r.stats, ms: 0 } });

test("two threads find exactly what one does, in the same order, with the same counts", async () => {
  const one = await scan({ root, parallel: false, maxFileBytes: 200_000 });
  assert.ok(one.findings.length > 40, `planted secrets found: ${one.findings.length}`);
  assert.equal(one.stats.skippedLarge, 1);
  assert.ok(one.stats.skippedBinary > 5);
  // The main thread pauses on every file it finishes, so the helper certainly takes some.
  let helped = false;
  let lastDone = 0;
  const two = await scan({
    root,
    maxFileBytes: 200_000,
    onProgress: (p) => {
      if (p.done > lastDone + 1) helped = true; // files finished by the other thread in between
      lastDone = p.done;
      const until = performance.now() + 2;
      while (performance.now() < until);
    },
  });
  assert.ok(helped, "the helper thread scanned some of the files");
  assert.deepEqual(withoutTime(two), withoutTime(one));
});

test("a small tree is scanned without waiting for the helper", async () => {
  const small = mkdtempSync(join(tmpdir(), "enclave-scan-small-"));
  try {
    writeFileSync(join(small, "a.env"), `${positives[0]}\n`);
    const r = await scan({ root: small });
    assert.equal(r.stats.scanned, 1);
    assert.ok(r.findings.length >= 1);
  } finally {
    rmSync(small, { recursive: true, force: true });
  }
});
