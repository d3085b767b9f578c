/**
 * Scrubbing: every injected value is swapped for its placeholder in what flows back to the
 * child — response headers and the body, streamed. A value split across chunk boundaries is
 * caught because the last (longest value − 1) bytes of each chunk are held back until the next
 * chunk (or the end) arrives. Replacements have the value's length (see placeholder.ts), so the
 * body keeps its Content-Length and the work is an in-place overwrite.
 */
export interface Replacement {
  /** The real bytes (a secret value, or a rendered header value). */
  value: Buffer;
  /** Same length as `value`. */
  placeholder: Buffer;
}

export class Scrubber {
  readonly longest: number;
  constructor(readonly replacements: readonly Replacement[]) {
    for (const r of replacements)
      if (r.value.length !== r.placeholder.length || r.value.length === 0)
        throw new Error("a scrub placeholder must be non-empty and as long as its value");
    this.longest = Math.max(0, ...replacements.map((r) => r.value.length));
  }

  /** Overwrite every occurrence in place; returns how many were found. */
  scrubInPlace(buf: Buffer): number {
    let found = 0;
    for (const r of this.replacements) {
      let at = buf.indexOf(r.value);
      while (at !== -1) {
        r.placeholder.copy(buf, at);
        found++;
        at = buf.indexOf(r.value, at + r.value.length);
      }
    }
    return found;
  }

  /** A copy of `text` (latin1, as HTTP heads are) with every value replaced. */
  scrubText(text: string): string {
    const b = Buffer.from(text, "latin1");
    return this.scrubInPlace(b) > 0 ? b.toString("latin1") : text;
  }

  /** A scrubber for one streamed body. */
  window(): ScrubWindow {
    return new ScrubWindow(this);
  }
}

/**
 * Scrubs one body as it streams: each pushed chunk comes back scrubbed, less the last
 * (longest value − 1) bytes, which wait for the next chunk in case a value straddles the two.
 * Synchronous, so the relay can write a whole small response in one go.
 */
export class ScrubWindow {
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly scrubber: Scrubber) {}

  /** Scrubbed bytes that are safe to send now (possibly empty). `chunk` may be overwritten. */
  push(chunk: Buffer): Buffer {
    const keep = this.scrubber.longest - 1;
    if (keep <= 0) {
      this.scrubber.scrubInPlace(chunk);
      return chunk;
    }
    const data = this.tail.length > 0 ? Buffer.concat([this.tail, chunk]) : chunk;
    this.scrubber.scrubInPlace(data);
    if (data.length <= keep) {
      this.tail = data === chunk ? Buffer.from(chunk) : data;
      return EMPTY;
    }
    // Copy the tail out: the rest of `data` is handed on and must not share memory with it.
    this.tail = Buffer.from(data.subarray(data.length - keep));
    return data.subarray(0, data.length - keep);
  }

  /** The held-back bytes, at the end of the body. */
  end(): Buffer {
    const rest = this.tail;
    this.tail = EMPTY;
    return rest;
  }
}

const EMPTY = Buffer.alloc(0);
