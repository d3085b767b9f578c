/**
 * verify on a clean log, and after each kind of tampering: it must fail and name the right line,
 * seq and kind. The documented Python re-verifier (docs/audit.md) must agree with it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { AuditEvent } from "../../src/audit/events.js";
import { type BadKind, verifyAudit } from "../../src/audit/verify.js";
import { AuditWriter } from "../../src/audit/writer.js";

const dir = mkdtempSync(join(tmpdir(), "enclave-audit-verify-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const req = (i: number): AuditEvent => ({
  type: "request",
  run: "r1",
  method: "GET",
  host: `host${i}.example`,
  port: 443,
  path: `/item/${i}`,
  status: 200,
  bytesIn: i,
  bytesOut: 10 * i,
  durationMs: 1,
  grant: null,
  mode: "tunnel",
});

/** A clean log of `count` records; returns its lines (without newlines). */
async function cleanLines(count = 6): Promise<string[]> {
  const f = join(dir, `clean-${n++}.jsonl`);
  const w = new AuditWriter(f, { now: () => Date.UTC(2026, 0, 1) });
  for (let i = 1; i <= count; i++) w.append(req(i));
  await w.close();
  return readFileSync(f, "utf8").split("\n").slice(0, -1);
}

/** Write lines (newline-terminated unless `raw`) to a fresh file. */
function logOf(lines: string[], raw?: string): string {
  const f = join(dir, `t-${n++}.jsonl`);
  writeFileSync(f, raw ?? lines.map((l) => `${l}\n`).join(""));
  return f;
}

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;
const hashOf = (line: string): string => HASH_SUFFIX.exec(line)![1]!;
/** Recompute a line's own hash after an edit, as a forger would (docs/audit.md, "The hash"). */
function rehash(line: string): string {
  const body = `${line.replace(HASH_SUFFIX, "")}}`;
  const h = createHash("sha256").update(body).digest("hex");
  return `${body.slice(0, -1)},"hash":"${h}"}`;
}

function expectBad(f: string, line: number, seq: number | undefined, kind: BadKind, reason?: RegExp): void {
  const r = verifyAudit(f);
  assert.equal(r.ok, false, "verify must fail");
  if (r.ok) return;
  assert.deepEqual(
    { line: r.firstBad.line, seq: r.firstBad.seq, kind: r.firstBad.kind },
    { line, seq, kind },
  );
  if (reason) assert.match(r.firstBad.reason, reason);
}

test("a clean log verifies, and reports its head for anchoring", async () => {
  const lines = await cleanLines();
  const r = verifyAudit(logOf(lines));
  assert.deepEqual(r, { ok: true, records: 6, head: { seq: 6, hash: hashOf(lines[5]!) } });
});

test("a missing or empty log verifies as zero records", () => {
  assert.deepEqual(verifyAudit(join(dir, "nothing-here.jsonl")), { ok: true, records: 0, head: null });
  assert.deepEqual(verifyAudit(logOf([], "")), { ok: true, records: 0, head: null });
});

test("an edited field is named (line, seq, edited), and the records before it counted", async () => {
  const lines = await cleanLines();
  lines[2] = lines[2]!.replace("host3.example", "evil.example");
  expectBad(logOf(lines), 3, 3, "edited", /do not match its hash/);
  const r = verifyAudit(logOf(lines));
  assert.equal(r.records, 2);
});

test("an edit whose hash was recomputed is caught by the next record's link, and names the edited one", async () => {
  const lines = await cleanLines();
  lines[2] = rehash(lines[2]!.replace('"status":200', '"status":500'));
  expectBad(logOf(lines), 3, 3, "edited", /hash recomputed/);
});

test("a record deleted from the middle, or the first one, is missing", async () => {
  const lines = await cleanLines();
  expectBad(logOf(lines.filter((_, i) => i !== 2)), 3, 4, "missing", /seq 3 is missing/);
  expectBad(logOf(lines.slice(1)), 1, 2, "missing", /seq 1 is missing/);
  expectBad(logOf(lines.filter((_, i) => i !== 2 && i !== 3)), 3, 5, "missing", /seqs 3–4 are missing/);
});

test("inserted records are named: a copy, a forgery with a valid own hash, a line with a bad hash", async () => {
  const lines = await cleanLines();
  // A copy of record 2 after record 4.
  expectBad(logOf([...lines.slice(0, 4), lines[1]!, ...lines.slice(4)]), 5, 2, "inserted");
  // A copy at the very end.
  expectBad(logOf([...lines, lines[1]!]), 7, 2, "inserted");
  // A forged record 4, chained correctly to record 3, inserted before the real record 4.
  const forged = rehash(lines[3]!.replace("host4.example", "forged.example"));
  expectBad(logOf([...lines.slice(0, 3), forged, ...lines.slice(3)]), 4, 4, "inserted");
  // The same forgery after the real record 4: still the forgery is named.
  expectBad(logOf([...lines.slice(0, 4), forged, ...lines.slice(4)]), 5, 4, "inserted");
  // A forgery from the future (seq 9, chained to nothing), valid by itself.
  const future = rehash(
    lines[3]!.replace('"seq":4', '"seq":9').replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${"1".repeat(64)}"`),
  );
  expectBad(logOf([...lines.slice(0, 3), future, ...lines.slice(3)]), 4, 9, "inserted");
  // A made-up line that does not match its own hash.
  const junk = lines[3]!.replace("host4.example", "junk.example");
  expectBad(logOf([...lines.slice(0, 3), junk, ...lines.slice(3)]), 4, 4, "inserted");
});

test("two records swapped are reordered", async () => {
  const lines = await cleanLines();
  const swapped = [...lines];
  [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
  expectBad(logOf(swapped), 3, 4, "reordered", /seq 3 is at line 4/);
  const lastTwo = [...lines.slice(0, 4), lines[5]!, lines[4]!];
  expectBad(logOf(lastTwo), 5, 6, "reordered");
  // A record moved further down.
  const moved = [lines[0]!, lines[2]!, lines[3]!, lines[1]!, lines[4]!, lines[5]!];
  expectBad(logOf(moved), 2, 3, "reordered");
});

test("a truncated last line is torn, even when only its newline is gone", async () => {
  const lines = await cleanLines();
  const whole = lines.map((l) => `${l}\n`).join("");
  expectBad(logOf([], whole.slice(0, -40)), 6, undefined, "torn", /no newline/);
  expectBad(logOf([], whole.slice(0, -1)), 6, 6, "torn");
});

test("a garbage line, an empty line, or JSON without chain members is bad-json", async () => {
  const lines = await cleanLines();
  expectBad(logOf([...lines.slice(0, 2), "rm -rf / # hello", ...lines.slice(2)]), 3, undefined, "bad-json");
  expectBad(logOf([...lines.slice(0, 2), "", ...lines.slice(2)]), 3, undefined, "bad-json", /empty line/);
  expectBad(logOf([...lines.slice(0, 2), '{"type":"request"}', ...lines.slice(2)]), 3, undefined, "bad-json");
});

test("a cut-off tail verifies on its own, and is caught by an anchor; so is a fully recomputed log", async () => {
  const lines = await cleanLines();
  const anchor = { seq: 6, hash: hashOf(lines[5]!) };
  const cut = logOf(lines.slice(0, 4));
  assert.equal(verifyAudit(cut).ok, true); // the documented limitation
  const r = verifyAudit(cut, { anchor });
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual([r.firstBad.line, r.firstBad.kind], [5, "missing"]);
  // Rewrite record 2 and recompute every later hash and link: internally consistent.
  const rewritten: string[] = [lines[0]!];
  let prev = hashOf(lines[0]!);
  for (const l of lines.slice(1)) {
    const edited = rehash(
      l.replace(/"prev":"[0-9a-f]{64}"/, `"prev":"${prev}"`).replace("host2.", "elsewhere."),
    );
    rewritten.push(edited);
    prev = hashOf(edited);
  }
  const f = logOf(rewritten);
  assert.equal(verifyAudit(f).ok, true);
  const a = verifyAudit(f, { anchor: { seq: 4, hash: hashOf(lines[3]!) } });
  assert.equal(a.ok, false);
  if (!a.ok) assert.deepEqual([a.firstBad.line, a.firstBad.seq, a.firstBad.kind], [4, 4, "anchor"]);
  assert.equal(verifyAudit(logOf(lines), { anchor: { seq: 4, hash: hashOf(lines[3]!) } }).ok, true);
});

test("the Python re-verifier printed in docs/audit.md agrees (good log passes, each edit fails)", async (t) => {
  const py = spawnSync("python3", ["--version"]);
  if (py.status !== 0) return t.skip("python3 is not installed");
  const doc = readFileSync(new URL("../../../docs/audit.md", import.meta.url), "utf8");
  const script = /```python\n([\s\S]*?)```/.exec(doc)![1]!;
  const scriptFile = join(dir, "verify.py");
  writeFileSync(scriptFile, script);
  const run = (f: string) => spawnSync("python3", [scriptFile, f], { encoding: "utf8" });
  const lines = await cleanLines();
  const good = run(logOf(lines));
  assert.equal(good.status, 0, good.stderr);
  assert.match(good.stdout, new RegExp(`OK 6 records; last hash ${hashOf(lines[5]!)}`));
  const edited = [...lines];
  edited[2] = edited[2]!.replace("host3", "hostX");
  const swapped = [...lines];
  [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
  for (const [what, f] of [
    ["edited", logOf(edited)],
    ["deleted", logOf(lines.filter((_, i) => i !== 1))],
    ["reordered", logOf(swapped)],
    [
      "torn",
      logOf(
        [],
        lines
          .map((l) => `${l}\n`)
          .join("")
          .slice(0, -5),
      ),
    ],
  ] as const) {
    const r = run(f);
    assert.equal(r.status, 1, `${what}: ${r.stdout}${r.stderr}`);
  }
});
