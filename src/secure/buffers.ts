import { createRequire } from "node:module";

// node:crypto is loaded on the first comparison: most commands that import this file only wipe,
// and loading it costs ~4 ms of start-up (enclave scan imports `wipe`).
let timingSafeEqual: typeof import("node:crypto").timingSafeEqual | undefined;
const safeEqual = (a: Buffer, b: Buffer): boolean => {
  timingSafeEqual ??= (createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto"))
    .timingSafeEqual;
  return timingSafeEqual(a, b);
};

/** Overwrite a buffer that held secret material. Safe to call on undefined or twice. */
export function wipe(...buffers: (Buffer | Uint8Array | undefined | null)[]): void {
  for (const b of buffers) b?.fill(0);
}

/** Concatenate chunks into one fresh buffer and wipe the chunks (for secrets read in pieces). */
export function concatAndWipe(chunks: Buffer[]): Buffer {
  const out = Buffer.alloc(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    c.copy(out, off);
    off += c.length;
    c.fill(0);
  }
  return out;
}

/** Constant-time equality that also accepts buffers of different lengths (returns false). */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length) {
    // Still spend comparable time so the length is not the only thing that leaks quickly.
    safeEqual(a, a);
    return false;
  }
  return safeEqual(a, b);
}

/** A copy that the caller owns (and must wipe); the source is left untouched. */
export function copyBuffer(src: Buffer): Buffer {
  const out = Buffer.alloc(src.length);
  src.copy(out);
  return out;
}
