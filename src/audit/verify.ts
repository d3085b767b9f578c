/**
 * `enclave audit verify`: walk the chain from the first line and name the first record that breaks
 * it, saying how (edited, missing, inserted, reordered, torn, not a record). A look ahead at the
 * following lines tells an extra line from an edited one, and a move from a deletion.
 * What no chain can show on its own (a cut-off tail, a fully recomputed log) is in docs/audit.md;
 * an anchor — a (seq, hash) pair kept elsewhere — covers both up to that record.
 */
import type { AuditRecord } from "./events.js";
import { readLines } from "./lines.js";
import { decodeLine, GENESIS, shownRecord } from "./record.js";

export type BadKind = "edited" | "missing" | "inserted" | "reordered" | "torn" | "bad-json" | "anchor";

export interface BadRecord {
  /** 1-based line number in the file. */
  line: number;
  /** The seq that line claims, when it can be read. */
  seq?: number;
  kind: BadKind;
  reason: string;
}

export type VerifyResult =
  /** head: the last record, to keep elsewhere as an anchor (null for an empty or missing log). */
  | { ok: true; records: number; head: { seq: number; hash: string } | null }
  /** records: how many records before the bad one verified. */
  | { ok: false; records: number; firstBad: BadRecord };

export interface Anchor {
  seq: number;
  hash: string;
}

/** The last record accepted so far (seq 0 is the start of the chain). */
interface Link {
  seq: number;
  hash: string;
  prev: string;
  line: number;
}

export function verifyAudit(file: string, opts: { anchor?: Anchor } = {}): VerifyResult {
  let last: Link = { seq: 0, hash: GENESIS, prev: "", line: 0 };
  let records = 0;
  const fail = (firstBad: BadRecord): VerifyResult => ({ ok: false, records, firstBad });
  for (const l of readLines(file)) {
    const d = decodeLine(l.text);
    const seq = shownRecord(d)?.seq;
    if (!l.terminated)
      return fail({
        line: l.no,
        seq,
        kind: "torn",
        reason:
          "the last line is incomplete (no newline): a write was cut short (crash, full disk) or the file " +
          "was truncated. The next append cuts it off and records that (audit.repair), or completes it if " +
          "only the newline is missing",
      });
    if (!d.ok && d.problem !== "hash")
      return fail({
        line: l.no,
        kind: "bad-json",
        reason: `not an audit record (${d.detail}): garbage or a damaged line`,
      });
    if (!d.ok) {
      if (nextContinues(file, l.end, last))
        return fail({
          line: l.no,
          seq,
          kind: "inserted",
          reason:
            "a line that does not match its own hash, and the chain goes on without it: it was inserted",
        });
      return fail({
        line: l.no,
        seq,
        kind: "edited",
        reason: "its contents do not match its hash: it was edited",
      });
    }
    const r = d.record;
    const expected = last.seq + 1;
    if (r.seq !== expected || r.prev !== last.hash) {
      return fail(brokenLink(file, l.no, l.end, r, last));
    }
    if (opts.anchor && r.seq === opts.anchor.seq && r.hash !== opts.anchor.hash)
      return fail({
        line: l.no,
        seq: r.seq,
        kind: "anchor",
        reason: `its hash is not the anchored ${opts.anchor.hash}: the log was rewritten at or before this record`,
      });
    last = { seq: r.seq, hash: r.hash, prev: r.prev, line: l.no };
    records++;
  }
  if (opts.anchor && opts.anchor.seq > last.seq)
    return fail({
      line: last.line + 1,
      kind: "missing",
      reason: `the log ends at seq ${last.seq} but the anchor names seq ${opts.anchor.seq}: records were deleted from the end`,
    });
  return { ok: true, records, head: last.seq === 0 ? null : { seq: last.seq, hash: last.hash } };
}

/** A record that is intact by itself but does not follow `last`: which record is to blame, and how. */
function brokenLink(file: string, line: number, end: number, r: AuditRecord, last: Link): BadRecord {
  const expected = last.seq + 1;
  const later = (pred: (x: AuditRecord) => boolean) => findLater(file, line, end, pred);
  if (r.seq > expected) {
    const dup = later((x) => x.seq === r.seq);
    if (dup !== null)
      return {
        line,
        seq: r.seq,
        kind: "inserted",
        reason: `seq ${r.seq} is also at line ${dup}, where it belongs: this one was inserted`,
      };
    const at = later((x) => x.seq === expected);
    const gap = r.seq - 1 > expected ? `seqs ${expected}–${r.seq - 1} are` : `seq ${expected} is`;
    if (at === null)
      return { line, seq: r.seq, kind: "missing", reason: `${gap} missing before this record: deleted` };
    // Both a swap and an extra line are followed by the expected seq; only a moved record is
    // still linked to the records around its real place.
    const linked =
      later((x) => x.prev === r.hash) !== null ||
      later((x) => x.hash === r.prev && x.seq === r.seq - 1) !== null;
    if (!linked && nextContinues(file, end, last))
      return {
        line,
        seq: r.seq,
        kind: "inserted",
        reason: `it does not follow seq ${last.seq}, and the next record does: it was inserted`,
      };
    return {
      line,
      seq: r.seq,
      kind: "reordered",
      reason: `seq ${r.seq} where seq ${expected} was expected (seq ${expected} is at line ${at}): records were reordered`,
    };
  }
  if (r.seq === expected) {
    if (nextContinues(file, end, last))
      return {
        line,
        seq: r.seq,
        kind: "inserted",
        reason: `it is not chained to seq ${last.seq}, and the next record is: it was inserted`,
      };
    if (last.seq === 0)
      return {
        line,
        seq: r.seq,
        kind: "edited",
        reason:
          "the first record does not start a chain (its prev is not 64 zeros): it was rewritten, or the records before it were removed and the rest renumbered",
      };
    // The right seq, chained to a hash the previous record no longer has: the previous record
    // was rewritten with its hash recomputed.
    return {
      line: last.line,
      seq: last.seq,
      kind: "edited",
      reason: `the next record (line ${line}, seq ${r.seq}) was chained to a different hash: this record was rewritten and its hash recomputed`,
    };
  }
  // r.seq <= last.seq: a seq that was already used.
  if (r.seq === last.seq && r.prev === last.prev) {
    // Two records for the same place in the chain; the one the next record links to is genuine.
    if (nextLinksTo(file, end, r.hash))
      return {
        line: last.line,
        seq: last.seq,
        kind: "inserted",
        reason: `line ${line} holds another record for the same place, and the chain goes on from that one: this one was inserted`,
      };
    return {
      line,
      seq: r.seq,
      kind: "inserted",
      reason: `a second record for seq ${r.seq} (the first is at line ${last.line}): it was inserted`,
    };
  }
  return {
    line,
    seq: r.seq,
    kind: "inserted",
    reason: `seq ${r.seq} appears again after seq ${last.seq}: a copy or a record with an old seq was inserted`,
  };
}

/** The intact record on the first line after byte `from`, if any. */
function nextRecord(file: string, from: number): AuditRecord | null {
  for (const l of readLines(file, from)) {
    const d = decodeLine(l.text);
    return l.terminated && d.ok ? d.record : null;
  }
  return null;
}

function nextContinues(file: string, from: number, last: Link): boolean {
  const n = nextRecord(file, from);
  return n !== null && n.seq === last.seq + 1 && n.prev === last.hash;
}

function nextLinksTo(file: string, from: number, hash: string): boolean {
  return nextRecord(file, from)?.prev === hash;
}

/** The line number of the first readable record after line `line` (ending at byte `from`) that `pred` accepts. */
function findLater(
  file: string,
  line: number,
  from: number,
  pred: (r: AuditRecord) => boolean,
): number | null {
  for (const l of readLines(file, from)) {
    const r = shownRecord(decodeLine(l.text));
    if (r && pred(r)) return line + l.no;
  }
  return null;
}
