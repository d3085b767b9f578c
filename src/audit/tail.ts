/**
 * Where a writer continues the chain: the last intact record of the file, and what to do with an
 * unterminated tail that a crash (or a full disk) left behind.
 */

import { EnclaveError } from "../errors.js";
import { sha256Hex } from "../secure/hash.js";
import { linesBackward } from "./lines.js";
import { decodeLine, GENESIS } from "./record.js";

export interface ChainTail {
  /** The record to chain onto: seq 0 and GENESIS for an empty file. */
  seq: number;
  hash: string;
  /**
   * An unterminated last line. `keep`: it is a whole record that continues the chain and lost
   * only its newline, so the writer completes it. Otherwise the writer cuts the file at `offset`
   * and records the cut (length and SHA-256 of the bytes) in the chain.
   */
  torn: null | { offset: number; length: number; sha256: string; keep: boolean };
}

export function readChainTail(fd: number, size: number, file: string): ChainTail {
  let fragment: { bytes: Buffer; start: number } | null = null;
  let anchor: { seq: number; hash: string } | null = null;
  let complete = 0;
  for (const l of linesBackward(fd, size)) {
    if (!l.terminated) {
      fragment = l;
      continue;
    }
    complete++;
    const d = decodeLine(l.bytes.toString("utf8"));
    // A damaged or edited last line is left for verify to report; the chain goes on from the
    // last intact record, so that everything appended from now on still verifies.
    if (d.ok) {
      anchor = { seq: d.record.seq, hash: d.record.hash };
      break;
    }
  }
  if (!anchor && complete > 0)
    throw new EnclaveError(
      `${file} holds no intact audit record, so enclave will not append to it: it is not an enclave ` +
        "audit log, or it is damaged throughout. Move it aside (keep it as evidence); a new log starts on the next run",
    );
  const tail: ChainTail = { ...(anchor ?? { seq: 0, hash: GENESIS }), torn: null };
  if (fragment) {
    const d = decodeLine(fragment.bytes.toString("utf8"));
    const keep = d.ok && d.record.seq === tail.seq + 1 && d.record.prev === tail.hash;
    tail.torn = {
      offset: fragment.start,
      length: fragment.bytes.length,
      sha256: sha256Hex(fragment.bytes),
      keep,
    };
    if (keep && d.ok) {
      tail.seq = d.record.seq;
      tail.hash = d.record.hash;
    }
  }
  return tail;
}
