/**
 * One audit record as one line of text, and back. The hash covers the line's own bytes (minus the
 * hash member), not a re-serialisation: a verifier in any language needs string operations and
 * SHA-256, never a canonical-JSON implementation that agrees with ours on key order or numbers.
 * docs/audit.md states the encoding exactly.
 */
import * as crypto from "node:crypto";
import type { AuditRecord, LoggedEvent } from "./events.js";

/** `prev` of the first record. */
export const GENESIS = "0".repeat(64);

const HEX64 = /^[0-9a-f]{64}$/;
/** Member names the chain owns; an event that carried one could pass itself off as another record. */
const CHAIN_KEYS = new Set(["seq", "ts", "prev", "hash"]);

/** Cut a URL path at its query string or fragment: those carry tokens often enough to never log them. */
export function stripQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

/**
 * The event's JSON as it will appear in the record: `type` first, chain member names dropped,
 * paths without query. Taken at append time, so a caller reusing its object changes nothing.
 */
export function eventJson(e: LoggedEvent): string {
  const out: Record<string, unknown> = { type: e.type };
  const src = e as unknown as Record<string, unknown>;
  for (const k in src) if (k !== "type" && !CHAIN_KEYS.has(k) && Object.hasOwn(src, k)) out[k] = src[k];
  if (typeof out.path === "string") out.path = stripQuery(out.path);
  return JSON.stringify(out);
}

/** crypto.hash (Node ≥ 20.12) is about twice as fast as a Hash object for one short input. */
const oneShot = (crypto as { hash?: (alg: string, data: string) => string }).hash;

export function sha256Text(s: string): string {
  return oneShot ? oneShot("sha256", s) : crypto.createHash("sha256").update(s, "utf8").digest("hex");
}

/**
 * The line for one record (with its newline) and its hash. The body is
 * `{"seq":N,"ts":"…","prev":"…",<event members>}`; the hash is SHA-256 of the body's UTF-8
 * bytes; the line is the body with `,"hash":"<hash>"` inserted before its closing brace.
 */
export function encodeRecord(
  seq: number,
  ts: string,
  prev: string,
  event: string,
): { line: string; hash: string } {
  const body = `{"seq":${seq},"ts":${JSON.stringify(ts)},"prev":"${prev}",${event.slice(1)}`;
  const hash = sha256Text(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}\n`, hash };
}

export type Decoded =
  | { ok: true; record: AuditRecord }
  /** Not JSON, or JSON without the chain members: nothing of it can be trusted or shown. */
  | { ok: false; problem: "json" | "shape"; detail: string }
  /** Well formed, but the hash does not match the bytes: the record as it now reads. */
  | { ok: false; problem: "hash"; detail: string; record: AuditRecord };

/**
 * The record a decoded line shows, whether intact or altered (its hash no longer matches: the
 * record as it now reads); null for a line that is not a record at all.
 */
export function shownRecord(d: Decoded): AuditRecord | null {
  return d.ok || d.problem === "hash" ? d.record : null;
}

/** Parse one line (without its newline) and check its own hash. Chain links are the caller's job. */
export function decodeLine(text: string): Decoded {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, problem: "json", detail: text.length === 0 ? "empty line" : "not JSON" };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return { ok: false, problem: "shape", detail: "not a JSON object" };
  const r = v as Record<string, unknown>;
  const bad =
    !Number.isSafeInteger(r.seq) || (r.seq as number) < 1
      ? "seq"
      : typeof r.ts !== "string"
        ? "ts"
        : typeof r.prev !== "string" || !HEX64.test(r.prev)
          ? "prev"
          : typeof r.type !== "string"
            ? "type"
            : typeof r.hash !== "string" || !HEX64.test(r.hash)
              ? "hash"
              : null;
  if (bad) return { ok: false, problem: "shape", detail: `missing or malformed "${bad}"` };
  const suffix = `,"hash":"${r.hash}"}`;
  if (!text.endsWith(suffix)) return { ok: false, problem: "shape", detail: `"hash" is not the last member` };
  const record = r as unknown as AuditRecord;
  if (sha256Text(`${text.slice(0, -suffix.length)}}`) !== r.hash)
    return { ok: false, problem: "hash", detail: "its contents do not match its hash", record };
  return { ok: true, record };
}
