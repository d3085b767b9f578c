/**
 * `enclave audit`, `enclave audit verify` and `enclave runs` through the built CLI: they read the
 * log with no vault at all, verify exits 1 naming the first bad record after each kind of edit,
 * --follow streams new records until Ctrl-C, and a real `enclave run` lands in the log.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { AuditEvent } from "../../src/audit/events.js";
import { AuditWriter } from "../../src/audit/writer.js";
import { type Sandbox, sandboxPool } from "../helpers/cli.js";

const { sandbox, vault } = sandboxPool();

const auditFile = (sb: Sandbox): string => join(sb.home, "audit.jsonl");

function request(run: string, i: number, path = `/v1/items/${i}`): AuditEvent {
  return {
    type: "request",
    run,
    method: "GET",
    host: "api.example",
    port: 443,
    path,
    status: 200,
    bytesIn: i,
    bytesOut: 100,
    durationMs: 4,
    grant: "gh",
    mode: "inject",
  };
}

/** Two runs: A finished (exit 0) with 3 requests, B still going with 1 request and a denial. */
async function writeLog(sb: Sandbox): Promise<void> {
  const w = new AuditWriter(auditFile(sb));
  const start = (run: string, command: string): void =>
    w.append({
      type: "run.start",
      run,
      command,
      argc: 1,
      grants: ["gh"],
      network: "strict",
      sandbox: "bwrap",
      allow: [],
      cwd: "/work",
    });
  start("run-A", "claude");
  w.append(request("run-A", 1));
  start("run-B", "make");
  w.append(request("run-A", 2, "/x\u001b[31mred?token=secret-ish"));
  w.append(request("run-B", 3));
  w.append(request("run-A", 4));
  w.append({ type: "denied", run: "run-B", reason: "host not allowed", host: "evil.example", port: 443 });
  w.append({
    type: "run.end",
    run: "run-A",
    exitCode: 0,
    signal: null,
    durationMs: 1200,
    requests: 3,
    denied: 0,
  });
  await w.close();
}

test("audit, audit verify and runs read the log without any vault", async () => {
  const sb = sandbox("audit-read");
  await writeLog(sb);
  const ok = await sb.run(["audit", "verify"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout.toString(), /^OK: 8 records, chain intact; last seq 8 hash [0-9a-f]{64}\n$/);
  const okJson = JSON.parse(await sb.ok(["audit", "verify", "--json"]));
  assert.deepEqual([okJson.ok, okJson.records, okJson.file, okJson.head.seq], [true, 8, auditFile(sb), 8]);

  const text = await sb.ok(["audit"]);
  assert.match(text, /^SEQ\s+TIME\s+RUN\s+TYPE\s+DETAIL/);
  assert.match(text, /run-A\s+request\s+GET api\.example:443\/v1\/items\/1 -> 200 inject grant=gh/);
  // An agent's path cannot drive the terminal, and its query string never reached the log.
  assert.ok(!text.includes("\u001b"), "no raw escape character in text output");
  assert.match(text, /\/x\\x1b\[31mred -> 200/);
  assert.doesNotMatch(readFileSync(auditFile(sb), "utf8"), /secret-ish/);

  const onlyB = JSON.parse(await sb.ok(["audit", "--run", "run-B", "--json"])) as {
    type: string;
    seq: number;
  }[];
  assert.deepEqual(
    onlyB.map((r) => [r.seq, r.type]),
    [
      [3, "run.start"],
      [5, "request"],
      [7, "denied"],
    ],
  );

  const runs = JSON.parse(await sb.ok(["runs", "--json"]));
  assert.deepEqual(
    runs.map((r: Record<string, unknown>) => [
      r.id,
      r.command,
      r.exitCode,
      r.end === null,
      r.requests,
      r.denied,
    ]),
    [
      ["run-A", "claude", 0, false, 3, 0],
      ["run-B", "make", null, true, 1, 1],
    ],
  );
  const runsText = await sb.ok(["runs"]);
  assert.match(runsText, /^ID\s+COMMAND\s+START\s+END\s+EXIT\s+GRANTS\s+REQUESTS\s+DENIED/);
  assert.match(runsText, /run-B\s+make\s+\S+\s+-\s+-\s+gh\s+1\s+1/);
});

test("with no log yet: verify is OK with 0 records, audit and runs say there is nothing", async () => {
  const sb = sandbox("audit-empty");
  const v = await sb.run(["audit", "verify"]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout.toString(), /^OK: 0 records/);
  const a = await sb.run(["audit"]);
  assert.equal(a.code, 0);
  assert.match(a.stderr, /no audit records yet/);
  assert.deepEqual(JSON.parse(await sb.ok(["runs", "--json"])), []);
});

test("audit verify exits 1 and names the first bad record after each kind of edit", async () => {
  const sb = sandbox("audit-tamper");
  await writeLog(sb);
  const clean = readFileSync(auditFile(sb), "utf8");
  const lines = clean.split("\n").slice(0, -1);
  const join_ = (ls: string[]) => ls.map((l) => `${l}\n`).join("");
  const swapped = [...lines];
  [swapped[3], swapped[4]] = [swapped[4]!, swapped[3]!];
  const cases: [string, string, RegExp, { line: number; kind: string }][] = [
    [
      "a field edited",
      join_(lines.map((l, i) => (i === 2 ? l.replace('"make"', '"innocent"') : l))),
      /line 3 \(seq 3\): edited/,
      { line: 3, kind: "edited" },
    ],
    [
      "a record deleted",
      join_(lines.filter((_, i) => i !== 3)),
      /line 4 \(seq 5\): missing: seq 4 is missing/,
      { line: 4, kind: "missing" },
    ],
    [
      "a record inserted",
      join_([...lines.slice(0, 5), lines[1]!, ...lines.slice(5)]),
      /line 6 \(seq 2\): inserted/,
      { line: 6, kind: "inserted" },
    ],
    ["two records swapped", join_(swapped), /line 4 \(seq 5\): reordered/, { line: 4, kind: "reordered" }],
    ["the last line truncated", clean.slice(0, -25), /line 8: torn/, { line: 8, kind: "torn" }],
    [
      "a garbage line",
      join_([...lines.slice(0, 2), "#!/bin/sh", ...lines.slice(2)]),
      /line 3: bad-json/,
      { line: 3, kind: "bad-json" },
    ],
  ];
  for (const [what, content, message, bad] of cases) {
    writeFileSync(auditFile(sb), content);
    const r = await sb.run(["audit", "verify"]);
    assert.equal(r.code, 1, `${what}: exit 1`);
    assert.match(r.stderr, message, what);
    assert.equal(r.stdout.length, 0);
    const j = await sb.run(["audit", "verify", "--json"]);
    assert.equal(j.code, 1, `${what}: exit 1 with --json`);
    const out = JSON.parse(j.stdout.toString());
    assert.equal(out.ok, false);
    assert.deepEqual({ line: out.firstBad.line, kind: out.firstBad.kind }, bad, what);
    // Display still works on a damaged log, and says to verify.
    const shown = await sb.run(["audit"]);
    assert.equal(shown.code, 0, what);
  }
  writeFileSync(auditFile(sb), clean);
  assert.equal((await sb.run(["audit", "verify"])).code, 0);
});

test("audit verify --anchor catches a log whose tail was cut off", async () => {
  const sb = sandbox("audit-anchor");
  await writeLog(sb);
  const head = JSON.parse(await sb.ok(["audit", "verify", "--json"])).head as { seq: number; hash: string };
  const anchor = `${head.seq}:${head.hash}`;
  assert.equal((await sb.run(["audit", "verify", "--anchor", anchor])).code, 0);
  const lines = readFileSync(auditFile(sb), "utf8").split("\n");
  writeFileSync(auditFile(sb), `${lines.slice(0, 6).join("\n")}\n`);
  assert.equal((await sb.run(["audit", "verify"])).code, 0, "a cut tail is invisible without an anchor");
  const r = await sb.run(["audit", "verify", "--anchor", anchor]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /line 7: missing: the log ends at seq 6 but the anchor names seq 8/);
  assert.equal((await sb.run(["audit", "verify", "--anchor", "8:nothex"])).code, 2);
});

test("audit --follow prints records as they are appended, until Ctrl-C", async () => {
  const sb = sandbox("audit-follow");
  await writeLog(sb);
  const p = sb.run(["audit", "--follow", "--json", "--run", "run-B"]);
  let out = "";
  p.child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const records = () =>
    out
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { seq: number; run: string });
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await sleep(20);
    assert.ok(cond(), `timed out; output so far: ${out}`);
  };
  await until(() => records().length === 3);
  const w = new AuditWriter(auditFile(sb), { flushMs: 10 });
  w.append(request("run-A", 9)); // filtered out
  w.append(request("run-B", 10));
  await w.flush();
  w.append({
    type: "run.end",
    run: "run-B",
    exitCode: 2,
    signal: null,
    durationMs: 5,
    requests: 2,
    denied: 1,
  });
  await w.close();
  await until(() => records().length === 5);
  assert.deepEqual(
    records().map((r) => [r.seq, r.run]),
    [
      [3, "run-B"],
      [5, "run-B"],
      [7, "run-B"],
      [10, "run-B"],
      [11, "run-B"],
    ],
  );
  p.child.kill("SIGINT");
  const r = await p;
  assert.equal(r.code, 0, r.stderr);
});

test("a real `enclave run` is recorded: runs lists it, its records verify", async () => {
  const sb = await vault("audit-run");
  const r = await sb.run(["run", "--sandbox", "none", "--", "sh", "-c", "exit 3"]);
  assert.equal(r.code, 3, r.stderr);
  const runs = JSON.parse(await sb.ok(["runs", "--json"]));
  assert.equal(runs.length, 1);
  assert.deepEqual([runs[0].command, runs[0].exitCode, runs[0].end !== null], ["sh", 3, true]);
  const mine = JSON.parse(await sb.ok(["audit", "--run", runs[0].id, "--json"])) as {
    type: string;
    argc?: number;
  }[];
  assert.deepEqual(
    mine.map((x) => x.type),
    ["run.start", "run.end"],
  );
  assert.equal(mine[0]!.argc, 2); // arguments are counted, never logged
  assert.doesNotMatch(readFileSync(auditFile(sb), "utf8"), /exit 3/);
  assert.equal((await sb.run(["audit", "verify"])).code, 0);
});
