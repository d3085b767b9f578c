/**
 * `enclave runs`: past runs summarised from the audit log — there is no second store to drift
 * from it. Counts come from the records themselves, so a run that never logged its end (still
 * running, or killed) is counted too.
 */
import type { AuditRecord } from "./events.js";

export interface RunSummary {
  id: string;
  command: string;
  /** ts of run.start (or of the run's first record, if run.start is missing). */
  start: string;
  /** ts of run.end; null while running or if the run never logged its end. */
  end: string | null;
  exitCode: number | null;
  signal: string | null;
  grants: string[];
  requests: number;
  denied: number;
  credentials: number;
}

/** One summary per run id, in the order the runs first appear in the log. */
export function summarizeRuns(records: Iterable<AuditRecord>): RunSummary[] {
  const runs = new Map<string, RunSummary>();
  for (const r of records) {
    if (!("run" in r)) continue;
    let s = runs.get(r.run);
    if (!s) {
      s = {
        id: r.run,
        command: "",
        start: r.ts,
        end: null,
        exitCode: null,
        signal: null,
        grants: [],
        requests: 0,
        denied: 0,
        credentials: 0,
      };
      runs.set(r.run, s);
    }
    switch (r.type) {
      case "run.start":
        s.command = r.command;
        s.start = r.ts;
        s.grants = [...r.grants];
        break;
      case "run.end":
        s.end = r.ts;
        s.exitCode = r.exitCode;
        s.signal = r.signal;
        break;
      case "request":
        s.requests++;
        break;
      case "denied":
        s.denied++;
        break;
      case "credential":
        s.credentials++;
        break;
    }
  }
  return [...runs.values()];
}
