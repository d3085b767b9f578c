/**
 * The writer: one valid chain, buffered appends flushed by timer, batch size and close(), paths
 * without query, private file mode, and sane handling of a torn or damaged tail.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { AuditEvent } from "../../src/audit/events.js";
import { readAudit } from "../../src/audit/reader.js";
import { GENESIS } from "../../src/audit/record.js";
import { verifyAudit } from "../../src/audit/verify.js";
import { AuditWriter } from "../../src/audit/writer.js";

const dir = mkdtempSync(join(tmpdir(), "enclave-audit-writer-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `a${n++}`, "audit.jsonl");

const req = (i: number, run = "r1", path = `/p/${i}`): AuditEvent => ({
  type: "request",
  run,
  method: "POST",
  host: "api.example",
  port: 443,
  path,
  status: 201,
  bytesIn: i,
  bytesOut: 0,
  durationMs: 2,
  grant: "gh",
  mode: "inject",
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await sleep(10);
  }
}
const lineCount = (f: string): number => (existsSync(f) ? readFileSync(f, "utf8").split("\n").length - 1 : 0);

test("every event type lands in one chain: seq from 1, prev links, 0600 file, path without query", async () => {
  const f = fresh();
  const w = new AuditWriter(f, { now: () => Date.UTC(2026, 4, 6, 7, 8, 9, 10) });
  w.append({
    type: "run.start",
    run: "r1",
    command: "curl",
    argc: 3,
    grants: ["gh"],
    network: "strict",
    sandbox: "bwrap",
    allow: ["example.org"],
    cwd: "/w",
  });
  w.append({
    type: "credential",
    run: "r1",
    grant: "gh",
    kind: "http",
    detail: { header: "Authorization" },
    fingerprint: "ab12",
  });
  w.append(req(1, "r1", "/repos/x?access_token=hunter2#frag"));
  w.append({
    type: "denied",
    run: "r1",
    reason: "host not allowed",
    method: "GET",
    host: "evil.example",
    port: 443,
    path: "/a#b?c",
  });
  w.append({ type: "run.end", run: "r1", exitCode: 0, signal: null, durationMs: 50, requests: 1, denied: 1 });
  await w.close();
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.equal(statSync(join(f, "..")).mode & 0o777, 0o700);
  const recs = readAudit(f);
  assert.deepEqual(
    recs.map((r) => [r.seq, r.type]),
    [
      [1, "run.start"],
      [2, "credential"],
      [3, "request"],
      [4, "denied"],
      [5, "run.end"],
    ],
  );
  assert.equal(recs[0]!.prev, GENESIS);
  for (let i = 1; i < recs.length; i++) assert.equal(recs[i]!.prev, recs[i - 1]!.hash);
  assert.ok(recs.every((r) => r.ts === "2026-05-06T07:08:09.010Z"));
  assert.equal((recs[2] as { path: string }).path, "/repos/x");
  assert.equal((recs[3] as { path: string }).path, "/a");
  assert.doesNotMatch(readFileSync(f, "utf8"), /hunter2|frag/);
  assert.deepEqual(verifyAudit(f), { ok: true, records: 5, head: { seq: 5, hash: recs[4]!.hash } });
});

test("append does no I/O; the timer flushes on its own", async () => {
  const f = fresh();
  const w = new AuditWriter(f, { flushMs: 50 });
  w.append(req(1));
  assert.equal(existsSync(f), false, "append must only buffer");
  await until(() => lineCount(f) === 1);
  w.append(req(2));
  assert.equal(lineCount(f), 1);
  await until(() => lineCount(f) === 2);
  await w.close();
  assert.equal(verifyAudit(f).ok, true);
});

test("a full batch is flushed without waiting for the timer", async () => {
  const f = fresh();
  const w = new AuditWriter(f, { flushMs: 60_000, maxBatch: 10 });
  for (let i = 0; i < 25; i++) w.append(req(i));
  await until(() => lineCount(f) >= 20);
  await w.close();
  assert.equal(lineCount(f), 25);
});

test("many appends then close(): all records, in order", async () => {
  const f = fresh();
  const w = new AuditWriter(f);
  for (let i = 0; i < 20_000; i++) w.append(req(i));
  await w.close();
  const recs = readAudit(f);
  assert.equal(recs.length, 20_000);
  assert.ok(recs.every((r, i) => r.seq === i + 1 && (r as { bytesIn: number }).bytesIn === i));
  assert.equal(verifyAudit(f).ok, true);
  assert.throws(() => w.append(req(0)), /closed/);
});

test("chain member names smuggled into an event are dropped", async () => {
  const f = fresh();
  const w = new AuditWriter(f);
  w.append({
    ...req(1),
    seq: 99,
    prev: "f".repeat(64),
    hash: "e".repeat(64),
    ts: "1970",
  } as unknown as AuditEvent);
  await w.close();
  const [r] = readAudit(f);
  assert.equal(r!.seq, 1);
  assert.equal(r!.prev, GENESIS);
  assert.notEqual(r!.ts, "1970");
  assert.equal(verifyAudit(f).ok, true);
});

test("two writers in one process, flushing in turn, keep one chain", async () => {
  const f = fresh();
  const a = new AuditWriter(f);
  const b = new AuditWriter(f);
  for (let i = 0; i < 5; i++) {
    a.append(req(i, "a"));
    await a.flush();
    b.append(req(i, "b"));
    b.append(req(i, "b"));
    await b.flush();
  }
  await Promise.all([a.close(), b.close()]);
  assert.deepEqual(verifyAudit(f).ok, true);
  assert.equal(readAudit(f).length, 15);
  assert.equal(readAudit(f, { run: "a" }).length, 5);
});

test("a torn last line is cut off by the next writer, which records the cut", async () => {
  const f = fresh();
  const w = new AuditWriter(f);
  for (let i = 1; i <= 5; i++) w.append(req(i));
  await w.close();
  const size = statSync(f).size;
  truncateSync(f, size - 30); // a crash in the middle of the last record
  const torn = verifyAudit(f);
  assert.equal(torn.ok, false);
  if (!torn.ok) assert.deepEqual([torn.firstBad.line, torn.firstBad.kind], [5, "torn"]);
  const fragment = readFileSync(f, "utf8").split("\n").at(-1)!;
  const w2 = new AuditWriter(f);
  w2.append(req(6));
  await w2.close();
  assert.equal(verifyAudit(f).ok, true);
  const recs = readAudit(f);
  assert.deepEqual(
    recs.map((r) => [r.seq, r.type]),
    [
      [1, "request"],
      [2, "request"],
      [3, "request"],
      [4, "request"],
      [5, "audit.repair"],
      [6, "request"],
    ],
  );
  assert.equal((recs[4] as { droppedBytes: number }).droppedBytes, Buffer.byteLength(fragment));
});

test("a last record that lost only its newline is completed, not cut", async () => {
  const f = fresh();
  const w = new AuditWriter(f);
  for (let i = 1; i <= 3; i++) w.append(req(i));
  await w.close();
  truncateSync(f, statSync(f).size - 1);
  const w2 = new AuditWriter(f);
  w2.append(req(4));
  await w2.close();
  assert.equal(verifyAudit(f).ok, true);
  assert.deepEqual(
    readAudit(f).map((r) => (r as { bytesIn: number }).bytesIn),
    [1, 2, 3, 4],
  );
});

test("after a damaged last line, writing goes on from the last intact record; verify still names the damage", async () => {
  const f = fresh();
  const w = new AuditWriter(f);
  for (let i = 1; i <= 3; i++) w.append(req(i));
  await w.close();
  const third = readAudit(f)[2]!;
  writeFileSync(f, `${readFileSync(f, "utf8")}not a record\n`);
  const w2 = new AuditWriter(f);
  w2.append(req(4));
  await w2.close();
  const recs = readAudit(f);
  assert.deepEqual([recs[3]!.seq, recs[3]!.prev], [4, third.hash]);
  const v = verifyAudit(f);
  assert.equal(v.ok, false);
  if (!v.ok) assert.deepEqual([v.firstBad.line, v.firstBad.kind], [4, "bad-json"]);
});

test("a file with no intact record is refused, unchanged; the events stay queued", async () => {
  const f = fresh();
  const w0 = new AuditWriter(f);
  w0.append(req(0));
  await w0.close(); // creates the folder
  writeFileSync(f, "hello\nworld\n");
  const errors: Error[] = [];
  const w = new AuditWriter(f, { flushMs: 20, onError: (e) => errors.push(e) });
  w.append(req(1));
  await assert.rejects(w.flush(), /holds no intact audit record/);
  await until(() => errors.length > 0); // the background retry reports too
  assert.equal(readFileSync(f, "utf8"), "hello\nworld\n");
  // Once the file is moved aside, the queued event is written to a new log.
  rmSync(f);
  await w.close();
  assert.deepEqual(
    readAudit(f).map((r) => (r as { bytesIn: number }).bytesIn),
    [1],
  );
});

test("a log file made with a wider mode is narrowed to 0600", async () => {
  const f = fresh();
  const w = new AuditWriter(f);
  w.append(req(1));
  await w.flush();
  chmodSync(f, 0o644);
  w.append(req(2));
  await w.close();
  assert.equal(statSync(f).mode & 0o777, 0o600);
});
