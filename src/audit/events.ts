/**
 * What the audit log records. Events carry names, hosts, paths, sizes and fingerprints — never a
 * secret value: no field here is meant to hold one, and callers must not put one in `detail`.
 */

export type AuditEvent =
  | {
      type: "run.start";
      run: string;
      /** The command's name only: its arguments may contain anything, so only their count is kept. */
      command: string;
      argc: number;
      grants: string[];
      network: "strict" | "permissive";
      sandbox: "bwrap" | "none";
      allow: string[];
      cwd: string;
    }
  | {
      type: "run.end";
      run: string;
      exitCode: number | null;
      signal: string | null;
      durationMs: number;
      requests: number;
      denied: number;
    }
  | {
      type: "request";
      run: string;
      method: string;
      host: string;
      port: number;
      /** Without query string or fragment (the writer cuts at `?` and `#` whatever it is given). */
      path: string;
      status: number;
      bytesIn: number;
      bytesOut: number;
      durationMs: number;
      grant: string | null;
      mode: "inject" | "tunnel" | "http";
      /** Why the exchange broke off (a connection closed, an upstream fault); never a value. */
      error?: string;
    }
  | {
      type: "denied";
      run: string;
      reason: string;
      method?: string;
      host?: string;
      port?: number;
      path?: string;
    }
  | {
      type: "credential";
      run: string;
      grant: string;
      kind: "aws" | "env" | "http";
      detail: Record<string, string | number>;
      /** HMAC of the value with the vault's fingerprint key, where identity matters. */
      fingerprint?: string;
    };

/**
 * Written by the writer itself, never by callers: before appending, it cut off the unterminated
 * remains of a write that a crash interrupted. The cut is recorded in the chain so it stays visible.
 */
export interface RepairEvent {
  type: "audit.repair";
  droppedBytes: number;
  /** SHA-256 (hex) of the bytes that were cut off. */
  droppedSha256: string;
}

export type LoggedEvent = AuditEvent | RepairEvent;

/** The chain fields every line carries. */
export interface ChainFields {
  /** 1 for the first record of the file, then +1 per record. */
  seq: number;
  /** ISO 8601 UTC time at which the event was appended in its process. */
  ts: string;
  /** `hash` of the previous record; 64 zeros for the first. */
  prev: string;
  /** SHA-256 hex of this record's canonical encoding (docs/audit.md). */
  hash: string;
}

export type AuditRecord = LoggedEvent & ChainFields;
