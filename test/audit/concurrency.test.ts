/**
 * Several processes (as concurrent `enclave run`s are) append to one audit file at the same time
 * through the compiled writer: the result is one valid chain holding every record, each process's
 * records in its own order, and actually interleaved.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readAudit } from "../../src/audit/reader.js";
import { verifyAudit } from "../../src/audit/verify.js";

const dir = mkdtempSync(join(tmpdir(), "enclave-audit-conc-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const WRITER = new URL("../../src/audit/writer.js", import.meta.url).href;
const CHILD = `
import { AuditWriter } from ${JSON.stringify(WRITER)};
const [file, run, count, startAt] = process.argv.slice(2);
const w = new AuditWriter(file, { flushMs: 5, maxBatch: 7 });
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
for (let i = 0; i < Number(count); i++) {
  w.append({ type: "request", run, method: "GET", host: "h", port: 443, path: "/" + i, status: 200,
    bytesIn: i, bytesOut: 0, durationMs: 0, grant: null, mode: "tunnel" });
  if (i % 5 === 0) await new Promise((r) => setTimeout(r, 1));
}
await w.close();
`;

function runChild(script: string, args: string[]): Promise<number | null> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "inherit", "inherit"] });
  return new Promise((res) => child.on("close", (code) => res(code)));
}

test("four processes appending at once produce one valid chain", async () => {
  const script = join(dir, "child.mjs");
  writeFileSync(script, CHILD);
  const file = join(dir, "home", "audit.jsonl");
  const PER = 400;
  const runs = ["p0", "p1", "p2", "p3"];
  const startAt = String(Date.now() + 1500); // all start together, after every process has loaded
  const codes = await Promise.all(runs.map((r) => runChild(script, [file, r, String(PER), startAt])));
  assert.deepEqual(codes, [0, 0, 0, 0]);
  const v = verifyAudit(file);
  assert.equal(v.ok, true, JSON.stringify(v));
  assert.equal(v.records, PER * runs.length);
  const recs = readAudit(file);
  for (const r of runs) {
    const mine = recs.filter((x) => "run" in x && x.run === r).map((x) => (x as { bytesIn: number }).bytesIn);
    assert.deepEqual(
      mine,
      Array.from({ length: PER }, (_, i) => i),
      `records of ${r} in order`,
    );
  }
  // The test means something only if the writers really interleaved.
  let switches = 0;
  for (let i = 1; i < recs.length; i++)
    if ((recs[i] as { run: string }).run !== (recs[i - 1] as { run: string }).run) switches++;
  assert.ok(switches >= 3, `the processes' batches interleave (${switches} switches)`);
});
