/**
 * Audit commands: `audit [--run ID] [--json] [--follow]`, `audit verify`, `runs`. They read the
 * audit log only: no vault, no unlock. Everything shown comes from agents' traffic (hosts,
 * paths), so text output escapes control characters; JSON quoting does that by itself.
 */
import type { Command } from "commander";
import type { AuditRecord } from "../audit/events.js";
import type { Anchor } from "../audit/verify.js";
import { resolvePaths } from "../config/paths.js";
import { EnclaveError, ExitCode, UsageError } from "../errors.js";
import { printable } from "../platform/printable.js";
import { info, printJson, table } from "./output.js";

const auditFile = (): string => resolvePaths(process.env).auditFile;

function detail(r: AuditRecord): string {
  switch (r.type) {
    case "run.start":
      return (
        `${r.command} (${r.argc} args) grants=${r.grants.join(",") || "-"} network=${r.network} ` +
        `sandbox=${r.sandbox}${r.allow.length ? ` allow=${r.allow.join(",")}` : ""} cwd=${r.cwd}`
      );
    case "run.end":
      return (
        `${r.signal ? `signal ${r.signal}` : `exit ${r.exitCode}`} after ${r.durationMs} ms; ` +
        `${r.requests} requests, ${r.denied} denied`
      );
    case "request":
      return (
        `${r.method} ${r.host}:${r.port}${r.path} -> ${r.status} ${r.mode}` +
        `${r.grant ? ` grant=${r.grant}` : ""} in=${r.bytesIn} out=${r.bytesOut} ${r.durationMs} ms`
      );
    case "denied": {
      const where = r.host
        ? ` ${r.method ? `${r.method} ` : ""}${r.host}${r.port ? `:${r.port}` : ""}${r.path ?? ""}`
        : "";
      return `${r.reason}${where}`;
    }
    case "credential":
      return `${r.kind} for grant ${r.grant}${Object.entries(r.detail)
        .map(([k, v]) => ` ${k}=${v}`)
        .join("")}${r.fingerprint ? ` fingerprint=${r.fingerprint}` : ""}`;
    case "audit.repair":
      return `cut ${r.droppedBytes} bytes left by an interrupted write (sha256 ${r.droppedSha256})`;
    default:
      return JSON.stringify(r);
  }
}

const HEADER = ["SEQ", "TIME", "RUN", "TYPE", "DETAIL"];
/** Column widths for --follow, which cannot measure rows it has not seen yet. */
const FOLLOW_WIDTHS = [6, 24, 16, 12];

function row(r: AuditRecord): string[] {
  let d: string;
  try {
    d = detail(r);
  } catch {
    d = JSON.stringify(r); // an edited record with fields of the wrong type
  }
  return [String(r.seq), r.ts, "run" in r ? String(r.run) : "-", r.type, d].map((c) => printable(String(c)));
}

const fixedRow = (cells: string[]): string =>
  cells.map((c, i) => (i < FOLLOW_WIDTHS.length ? c.padEnd(FOLLOW_WIDTHS[i]!) : c)).join("  ");

function parseAnchor(v: string): Anchor {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(v);
  if (!m || Number(m[1]) < 1)
    throw new UsageError(`--anchor ${v}: expected SEQ:HASH (a seq and 64 hex digits)`);
  return { seq: Number(m[1]), hash: m[2]! };
}

async function follow(file: string, o: { run?: string; json?: boolean }): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (!o.json) process.stdout.write(`${fixedRow(HEADER)}\n`);
  try {
    const { followAudit } = await import("../audit/follow.js");
    await followAudit(file, {
      run: o.run,
      signal: ac.signal,
      onRecord: (r) => process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${fixedRow(row(r))}\n`),
      onRestart: () => info(`${file} was replaced or truncated; reading it from the start`),
    });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program
    .command("audit")
    .description("show the audit log: runs, proxied requests, denials, issued credentials (no unlock needed)")
    .option("--run <id>", "only this run's records")
    .option("--json", "print as JSON (with --follow: one record per line)")
    .option("--follow", "keep printing records as they are appended, until Ctrl-C")
    .action(async (o: { run?: string; json?: boolean; follow?: boolean }) => {
      const file = auditFile();
      if (o.follow) return follow(file, o);
      let unreadable = 0;
      let altered = 0;
      const { readAudit } = await import("../audit/reader.js");
      const records = readAudit(
        file,
        { run: o.run },
        { onUnreadable: () => unreadable++, onAltered: () => altered++ },
      );
      if (unreadable + altered > 0)
        info(
          `note: ${unreadable} line(s) of ${file} are not records and ${altered} record(s) do not match ` +
            "their hash; run `enclave audit verify`",
        );
      if (o.json) return printJson(records);
      if (records.length === 0)
        return info(
          o.run ? `no audit records for run ${o.run} in ${file}` : `no audit records yet in ${file}`,
        );
      process.stdout.write(`${table(records.map(row), HEADER)}\n`);
    });

  audit
    .command("verify")
    .description("check the hash chain: exit 0 if intact, 1 naming the first bad record and what is wrong")
    .option("--json", "print the result as JSON")
    .option(
      "--anchor <seq:hash>",
      "also require the record SEQ to have HASH (as printed by an earlier verify): catches a cut-off tail",
    )
    .action(async (_o: unknown, cmd: Command) => {
      // `audit` declares --json too, and commander hands it to the parent: read both levels.
      const o = cmd.optsWithGlobals() as { json?: boolean; anchor?: string; run?: string; follow?: boolean };
      if (o.run !== undefined || o.follow)
        throw new UsageError("audit verify checks the whole log: no --run or --follow");
      const file = auditFile();
      const { verifyAudit } = await import("../audit/verify.js");
      const r = verifyAudit(file, { anchor: o.anchor ? parseAnchor(o.anchor) : undefined });
      if (o.json) {
        printJson({ file, ...r });
        if (!r.ok) process.exitCode = ExitCode.failure;
        return;
      }
      if (r.ok) {
        process.stdout.write(
          r.head
            ? `OK: ${r.records} records, chain intact; last seq ${r.head.seq} hash ${r.head.hash}\n`
            : `OK: 0 records (${file} is empty or does not exist yet)\n`,
        );
        return;
      }
      const b = r.firstBad;
      throw new EnclaveError(
        `audit log ${file} is not intact: line ${b.line}${b.seq === undefined ? "" : ` (seq ${b.seq})`}: ` +
          `${b.kind}: ${b.reason}. The ${r.records} record(s) before it verify. Keep the file as evidence; ` +
          "`enclave audit` still shows what it holds",
      );
    });

  program
    .command("runs")
    .description("list past runs from the audit log: command, start, end, exit code, grants, request counts")
    .option("--json", "print as JSON")
    .action(async (o: { json?: boolean }) => {
      const file = auditFile();
      // Loaded on use, like every heavy command module: `enclave` start-up does not pay for them.
      const [{ iterateAudit }, { summarizeRuns }] = await Promise.all([
        import("../audit/reader.js"),
        import("../audit/runs.js"),
      ]);
      const runs = summarizeRuns(iterateAudit(file));
      if (o.json) return printJson(runs);
      if (runs.length === 0) return info(`no runs recorded yet in ${file}`);
      process.stdout.write(
        `${table(
          runs.map((s) =>
            [
              s.id,
              s.command,
              s.start,
              s.end ?? "-",
              s.signal ?? (s.exitCode === null ? "-" : String(s.exitCode)),
              s.grants.join(",") || "-",
              String(s.requests),
              String(s.denied),
            ].map(printable),
          ),
          ["ID", "COMMAND", "START", "END", "EXIT", "GRANTS", "REQUESTS", "DENIED"],
        )}\n`,
      );
    });
}
