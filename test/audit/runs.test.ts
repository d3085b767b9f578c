/** `enclave runs` is a summary of the audit log; the reader filters by run and notes bad lines. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { readAudit } from "../../src/audit/reader.js";
import { summarizeRuns } from "../../src/audit/runs.js";
import { AuditWriter } from "../../src/audit/writer.js";

const dir = mkdtempSync(join(tmpdir(), "enclave-audit-runs-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function twoRuns(file: string): Promise<void> {
  let t = Date.UTC(2026, 0, 1, 10, 0, 0);
  const w = new AuditWriter(file, { now: () => (t += 1000) });
  const start = (run: string, command: string, grants: string[]) =>
    w.append({
      type: "run.start",
      run,
      command,
      argc: 2,
      grants,
      network: "strict",
      sandbox: "bwrap",
      allow: [],
      cwd: "/w",
    });
  const request = (run: string) =>
    w.append({
      type: "request",
      run,
      method: "GET",
      host: "api.example",
      port: 443,
      path: "/",
      status: 200,
      bytesIn: 1,
      bytesOut: 2,
      durationMs: 3,
      grant: null,
      mode: "tunnel",
    });
  start("A", "claude", ["gh", "aws-dev"]);
  start("B", "make", []);
  request("A");
  w.append({
    type: "credential",
    run: "A",
    grant: "aws-dev",
    kind: "aws",
    detail: { role: "arn:aws:iam::1:role/x", ttl: 900 },
  });
  request("B");
  request("A");
  w.append({ type: "denied", run: "A", reason: "not allowed", host: "x.example", port: 443 });
  w.append({
    type: "run.end",
    run: "A",
    exitCode: 3,
    signal: null,
    durationMs: 9000,
    requests: 2,
    denied: 1,
  });
  await w.close();
}

test("runs are summarised in order of start, an unfinished one with no end", async () => {
  const f = join(dir, "runs.jsonl");
  await twoRuns(f);
  assert.deepEqual(summarizeRuns(readAudit(f)), [
    {
      id: "A",
      command: "claude",
      start: "2026-01-01T10:00:01.000Z",
      end: "2026-01-01T10:00:08.000Z",
      exitCode: 3,
      signal: null,
      grants: ["gh", "aws-dev"],
      requests: 2,
      denied: 1,
      credentials: 1,
    },
    {
      id: "B",
      command: "make",
      start: "2026-01-01T10:00:02.000Z",
      end: null,
      exitCode: null,
      signal: null,
      grants: [],
      requests: 1,
      denied: 0,
      credentials: 0,
    },
  ]);
  assert.deepEqual(summarizeRuns([]), []);
});

test("the reader filters by run, tolerates a missing file, skips and reports bad lines", async () => {
  const f = join(dir, "reader.jsonl");
  await twoRuns(f);
  assert.deepEqual(
    readAudit(f, { run: "B" }).map((r) => r.type),
    ["run.start", "request"],
  );
  assert.deepEqual(readAudit(join(dir, "missing.jsonl")), []);
  const lines = readFileSync(f, "utf8").split("\n");
  lines[1] = lines[1]!.replace('"make"', '"evil"');
  writeFileSync(f, `${lines.slice(0, 3).join("\n")}\ngarbage\n${lines.slice(3).join("\n")}`);
  const unreadable: number[] = [];
  const altered: number[] = [];
  const recs = readAudit(
    f,
    {},
    { onUnreadable: (l) => unreadable.push(l), onAltered: (l) => altered.push(l) },
  );
  assert.equal(recs.length, 8);
  assert.deepEqual(unreadable, [4]);
  assert.deepEqual(altered, [2]);
});
