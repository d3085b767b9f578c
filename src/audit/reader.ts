/**
 * Reading the audit log for display and for `enclave runs`. Shows what the file holds; whether it
 * is intact is verify's question. Lines that are not records at all are skipped (and counted).
 */
import type { AuditRecord } from "./events.js";
import { readLines } from "./lines.js";
import { decodeLine, shownRecord } from "./record.js";

export interface AuditFilter {
  /** Only this run's records. */
  run?: string;
}

export interface ReadNotes {
  /** Called for a line that is not a record (garbage, cut short), by line number. */
  onUnreadable?: (line: number) => void;
  /** Called for a record whose contents no longer match its hash (it is still returned). */
  onAltered?: (line: number) => void;
}

export function matches(r: AuditRecord, filter: AuditFilter): boolean {
  return filter.run === undefined || ("run" in r && r.run === filter.run);
}

/** Records in file order; a missing file has none. */
export function* iterateAudit(
  file: string,
  filter: AuditFilter = {},
  notes: ReadNotes = {},
): Generator<AuditRecord> {
  for (const l of readLines(file)) {
    const d = decodeLine(l.text);
    const r = shownRecord(d);
    if (r) {
      if (!d.ok) notes.onAltered?.(l.no);
      if (matches(r, filter)) yield r;
    } else notes.onUnreadable?.(l.no);
  }
}

export function readAudit(file: string, filter: AuditFilter = {}, notes: ReadNotes = {}): AuditRecord[] {
  return [...iterateAudit(file, filter, notes)];
}
