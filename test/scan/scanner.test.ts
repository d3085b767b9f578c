/**
 * The working-tree scan on one thread and on two (the helper thread of worker.ts, there from the
 * start or joining a scan that turns out long): the same findings, in the same order, and the same
 * counts — whichever thread read which file.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { worthAHelper } from "../../src/scan/helper.js";
import { type ScanResult, scan, scanContent } from "../../src/scan/scanner.js";
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
    parallel: true,
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

test("a helper joins a scan that turns out long, and it finds what one thread does", async () => {
  const one = await scan({ root, parallel: false, maxFileBytes: 200_000 });
  // 2 ms per file makes these 400 files a scan of about 0.8 s: long enough for a helper to pay.
  let helped = false;
  let lastDone = 0;
  let firstHelped = 0;
  const two = await scan({
    root,
    maxFileBytes: 200_000,
    onProgress: (p) => {
      if (p.done > lastDone + 1 && !helped) {
        helped = true;
        firstHelped = p.done;
      }
      lastDone = p.done;
      const until = performance.now() + 2;
      while (performance.now() < until);
    },
  });
  assert.ok(helped, "a helper joined and scanned some of the files");
  // It decides from 40 ms in, over 20 ms or more (file 30 or later, at 2 ms a file), and a thread
  // takes tens of milliseconds to start; one started at once would take files from about file 25.
  assert.ok(firstHelped > 40, `it joined once the main thread could tell (at file ${firstHelped})`);
  assert.deepEqual(withoutTime(two), withoutTime(one));
});

test("a helper is worth it only when the rest of the scan looks long", () => {
  // 18 files a millisecond (a 75 MB tree of 2,324 files, here): 2,000 more take ~110 ms; 9,000, ~500.
  assert.equal(worthAHelper(18, 2_000), false);
  assert.equal(worthAHelper(18, 9_000), true);
  assert.equal(worthAHelper(0, 9_000), false, "no rate, no guess");
});

test("files around the first read (1 MiB) and the size limit: read whole, or skipped as too large", async () => {
  const dir = mkdtempSync(join(tmpdir(), "enclave-scan-sizes-"));
  try {
    const secret = positives[0]!;
    const sizes = [(1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20];
    // The secret at the very end: found only if the whole file was read.
    for (const size of sizes)
      writeFileSync(join(dir, `s${size}.txt`), `${"a".repeat(size - secret.length - 1)}\n${secret}`);
    const all = await scan({ root: dir, parallel: false });
    assert.deepEqual(
      all.findings.map((f) => f.path).filter((p, i, a) => a.indexOf(p) === i),
      sizes.map((s) => `s${s}.txt`).sort(),
    );
    assert.equal(
      all.stats.bytes,
      sizes.reduce((a, b) => a + b, 0),
    );
    // A limit between the sizes: exactly the limit is scanned, one byte more is not.
    const limited = await scan({ root: dir, parallel: false, maxFileBytes: 1 << 20 });
    assert.equal(limited.stats.scanned, 2);
    assert.equal(limited.stats.skippedLarge, 2);
    const small = await scan({ root: dir, parallel: false, maxFileBytes: 1000 });
    assert.equal(small.stats.skippedLarge, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a submodule (a folder git lists as a path) is left out, not counted as unreadable", async () => {
  const dir = mkdtempSync(join(tmpdir(), "enclave-scan-gitlink-"));
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: dir, stdio: "pipe" });
    git("init", "-q");
    git("update-index", "--add", "--cacheinfo", `160000,${"1".repeat(40)},sub`);
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "a.env"), `${positives[0]}\n`);
    const r = await scan({ root: dir, parallel: false });
    assert.deepEqual(
      { scanned: r.stats.scanned, unreadable: r.stats.skippedUnreadable },
      { scanned: 1, unreadable: 0 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("columns (UTF-16 units) of many findings on one long line with non-ASCII text between them", () => {
  let seed = 42;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const random = Array.from({ length: 400 }, () =>
    Array.from({ length: 24 }, () => alphabet[Math.floor(next() * alphabet.length)]).join(""),
  );
  const line = random.map((v, i) => `${"é€😀".slice(0, 1 + (i % 4))} api_key="${v}";`).join(" ");
  const text = `first line é\n${line}\n`;
  const found = scanContent(Buffer.from(text, "utf8"), "x.js", {});
  assert.ok(found.length > 350, `findings: ${found.length}`);
  for (const f of found) {
    assert.equal(f.line, 2);
    const value = random.find((v) => f.redacted === `${v.slice(0, 3)}…${v.slice(-3)}`)!;
    assert.equal(f.column, line.indexOf(value) + 1, value);
  }
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
