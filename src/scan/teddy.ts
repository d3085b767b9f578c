/**
 * The literal finder behind the scan: every occurrence of a set of short literals (the rules'
 * anchors, some case-insensitive) in a buffer, in one pass of WebAssembly SIMD — about 2 GB/s on
 * one core, where one JavaScript regular-expression pass over the same text runs at 0.1–0.3 GB/s
 * and the rules need dozens of them.
 *
 * The algorithm is Teddy (from Intel's Hyperscan, as in ripgrep): literals are put in 16 buckets;
 * for the first 3 bytes of the literals, two 16-entry tables per byte position (one indexed by the
 * low nibble, one by the high nibble of the text byte) hold a bit per bucket. `i8x16.swizzle` looks
 * 16 text bytes up at once, so the AND of the six lookups says, for 16 positions at a time, which
 * buckets may start there. The rare positions where one may are checked byte by byte against the
 * bucket's literals (folding ASCII case for case-insensitive ones) and reported as (position,
 * literal id), in increasing position order.
 *
 * The module is assembled here from its instructions (a few dozen lines, no build step) and checked
 * against a plain JavaScript search in the tests. Without WebAssembly SIMD, `LiteralFinder` falls
 * back to that JavaScript search: same answers, slower.
 */

export interface Literal {
  /** At least 3 characters, all below U+0100 (they are matched against latin1 bytes). */
  text: string;
  /** Match ASCII letters in either case. */
  ignoreCase: boolean;
}

/** Searches text put in its arena (WebAssembly memory when it can, so that nothing is copied). */
export interface LiteralFinder {
  readonly kind: "wasm" | "js";
  /** A buffer of `bytes` bytes to put text in; it replaces (and may invalidate) the previous one. */
  arena(bytes: number): Buffer;
  /**
   * Every occurrence starting in arena[start, end) and ending by `limit` (≤ the arena's length), by
   * increasing position: `hits[2k]` its position, `hits[2k+1]` the literal's index in the list the
   * finder was made for. Returns how many; `hits` is valid until the next call.
   */
  find(start: number, end: number, limit: number): number;
  readonly hits: Uint32Array;
}

/** Positions scanned per call: bounds the output area (at most 4 literals can start at one position). */
const BLOCK = 1 << 16;
const MAX_HITS = BLOCK * 4;
/** Bytes after the text that the finder may read: the last step of 16, 2 more, then a literal. */
const PAD = 64;
const MAX_LITERAL = 32;

// ---- memory layout (bytes) ----
const TABLES = 0; // 2 sets × 3 positions × (low, high) × 16
const SCRATCH = 192; // two 16-byte bucket masks
const BUCKETS = 256; // 16 × (first literal-list index, count)
const LIST = 320; // literal ids by bucket (≤ 192)
const LITS = 512; // per literal: u32 offset of its bytes, u16 length, u16 ignore-case
const LIT_BYTES = 1024; // the literals' bytes (lowercase when ignore-case), up to OUT
const OUT = 4096;
const HEAP = OUT + MAX_HITS * 8;

// ---- a minimal WebAssembly assembler ----

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, "latin1")];
const I32 = 0x7f;
const V128 = 0x7b;

/** The instructions used below (opcodes from the WebAssembly 2.0 spec; 0xfd is the SIMD prefix). */
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  load8: (offset: number) => [0x2d, 0, ...uleb(offset)],
  load16: (offset: number) => [0x2f, 0, ...uleb(offset)],
  load32: (offset: number) => [0x28, 0, ...uleb(offset)],
  store32: (offset: number) => [0x36, 0, ...uleb(offset)],
  i32: (n: number) => [0x41, ...sleb(n)],
  eqz: [0x45],
  ne: [0x47],
  ltU: [0x49],
  geU: [0x4f],
  add: [0x6a],
  sub: [0x6b],
  and: [0x71],
  or: [0x72],
  xor: [0x73],
  shl: [0x74],
  ctz: [0x68],
  vload: (offset: number) => [0xfd, 0x00, 0, ...uleb(offset)],
  vstore: (offset: number) => [0xfd, 0x0b, 0, ...uleb(offset)],
  v128: (bytes: number[]) => [0xfd, 0x0c, ...bytes],
  swizzle: [0xfd, 0x0e],
  eq8: [0xfd, 0x23],
  vand: [0xfd, 0x4e],
  vor: [0xfd, 0x50],
  anyTrue: [0xfd, 0x53],
  bitmask: [0xfd, 0x64],
  shrU8: [0xfd, 0x6d],
};

/**
 * `find(start, end, out) -> count`: the Teddy loop over [start, end) in steps of 16, then the exact
 * check of each candidate. Locals: params 0–2, then i32s, then v128s.
 */
function teddyModule(): Uint8Array<ArrayBuffer> {
  const [START, END, OUTP] = [0, 1, 2];
  const [I, N, BITS, J, POS, MASK, BK, LI, LE, ID, LEN, OFF, Q, C, CI] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
  ];
  const I32_LOCALS = 15;
  const table = (set: number, pos: number, high: number) => 18 + set * 6 + pos * 2 + high; // 18..29
  const [MLO, MHI, NIBBLE, ZERO] = [30, 31, 32, 33];
  const textNibble = (pos: number, high: number) => 34 + pos * 2 + high; // 34..39
  const V128_LOCALS = 22;

  const body: number[] = [];
  for (let set = 0; set < 2; set++)
    for (let pos = 0; pos < 3; pos++)
      for (let high = 0; high < 2; high++)
        body.push(
          ...op.i32(0),
          ...op.vload(TABLES + (set * 6 + pos * 2 + high) * 16),
          ...op.set(table(set, pos, high)),
        );
  body.push(...op.v128(new Array(16).fill(15)), ...op.set(NIBBLE), ...op.get(START), ...op.set(I));

  /** The bucket bits of one set for the 16 positions at I: AND over 3 bytes of (low table & high table). */
  const bucketBits = (set: number): number[] => {
    const out: number[] = [];
    for (let pos = 0; pos < 3; pos++) {
      out.push(
        ...op.get(table(set, pos, 0)),
        ...op.get(textNibble(pos, 0)),
        ...op.swizzle,
        ...op.get(table(set, pos, 1)),
        ...op.get(textNibble(pos, 1)),
        ...op.swizzle,
        ...op.vand,
      );
      if (pos > 0) out.push(...op.vand);
    }
    return out;
  };

  /** Literal ID at POS: compare its LEN bytes (folding A-Z to a-z when CI), emit (POS, ID) if equal. */
  const check = [
    ...op.get(ID),
    ...op.i32(3),
    ...op.shl,
    ...op.tee(C),
    ...op.load32(LITS),
    ...op.set(OFF),
    ...op.get(C),
    ...op.load16(LITS + 4),
    ...op.set(LEN),
    ...op.get(C),
    ...op.load16(LITS + 6),
    ...op.set(CI),
    ...op.i32(0),
    ...op.set(Q),
    ...op.block,
    ...op.loop,
    ...op.get(Q),
    ...op.get(LEN),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(POS),
    ...op.get(Q),
    ...op.add,
    ...op.load8(0),
    ...op.set(C),
    // C |= (CI & (C - 65 < 26)) << 5
    ...op.get(C),
    ...op.get(CI),
    ...op.get(C),
    ...op.i32(65),
    ...op.sub,
    ...op.i32(26),
    ...op.ltU,
    ...op.and,
    ...op.i32(5),
    ...op.shl,
    ...op.or,
    ...op.get(OFF),
    ...op.get(Q),
    ...op.add,
    ...op.load8(0),
    ...op.ne,
    ...op.brIf(1),
    ...op.get(Q),
    ...op.i32(1),
    ...op.add,
    ...op.set(Q),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(Q),
    ...op.get(LEN),
    ...op.geU,
    ...op.if,
    ...op.get(OUTP),
    ...op.get(N),
    ...op.i32(3),
    ...op.shl,
    ...op.add,
    ...op.tee(C),
    ...op.get(POS),
    ...op.store32(0),
    ...op.get(C),
    ...op.get(ID),
    ...op.store32(4),
    ...op.get(N),
    ...op.i32(1),
    ...op.add,
    ...op.set(N),
    ...op.end,
  ];

  /** `local &= local - 1` (clear the lowest set bit). */
  const clearLowest = (local: number) => [
    ...op.get(local),
    ...op.get(local),
    ...op.i32(1),
    ...op.sub,
    ...op.and,
    ...op.set(local),
  ];

  body.push(...op.block, ...op.loop, ...op.get(I), ...op.get(END), ...op.geU, ...op.brIf(1));
  for (let pos = 0; pos < 3; pos++)
    body.push(
      ...op.get(I),
      ...op.vload(pos),
      ...op.tee(textNibble(pos, 0)),
      ...op.i32(4),
      ...op.shrU8,
      ...op.set(textNibble(pos, 1)),
      ...op.get(textNibble(pos, 0)),
      ...op.get(NIBBLE),
      ...op.vand,
      ...op.set(textNibble(pos, 0)),
    );
  body.push(
    ...bucketBits(0),
    ...op.set(MLO),
    ...bucketBits(1),
    ...op.tee(MHI),
    ...op.get(MLO),
    ...op.vor,
    ...op.anyTrue,
    ...op.if,
    // Candidates: keep both masks, then visit each position (BITS) and each bucket there (MASK).
    ...op.i32(0),
    ...op.get(MLO),
    ...op.vstore(SCRATCH),
    ...op.i32(0),
    ...op.get(MHI),
    ...op.vstore(SCRATCH + 16),
    ...op.get(MLO),
    ...op.get(MHI),
    ...op.vor,
    ...op.get(ZERO),
    ...op.eq8,
    ...op.bitmask,
    ...op.i32(0xffff),
    ...op.xor,
    ...op.set(BITS),
    ...op.block,
    ...op.loop,
    ...op.get(BITS),
    ...op.eqz,
    ...op.brIf(1),
    ...op.get(BITS),
    ...op.ctz,
    ...op.tee(J),
    ...op.get(I),
    ...op.add,
    ...op.set(POS),
    ...op.get(J),
    ...op.load8(SCRATCH),
    ...op.get(J),
    ...op.load8(SCRATCH + 16),
    ...op.i32(8),
    ...op.shl,
    ...op.or,
    ...op.set(MASK),
    ...op.block,
    ...op.loop,
    ...op.get(MASK),
    ...op.eqz,
    ...op.brIf(1),
    ...op.get(MASK),
    ...op.ctz,
    ...op.i32(1),
    ...op.shl,
    ...op.tee(BK),
    ...op.load8(BUCKETS),
    ...op.tee(LI),
    ...op.get(BK),
    ...op.load8(BUCKETS + 1),
    ...op.add,
    ...op.set(LE),
    ...op.block,
    ...op.loop,
    ...op.get(LI),
    ...op.get(LE),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(LI),
    ...op.load8(LIST),
    ...op.set(ID),
    ...check,
    ...op.get(LI),
    ...op.i32(1),
    ...op.add,
    ...op.set(LI),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...clearLowest(MASK),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...clearLowest(BITS),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.end,
    ...op.get(I),
    ...op.i32(16),
    ...op.add,
    ...op.set(I),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(N),
    ...op.end,
  );
  const code = [
    ...vec([
      [...uleb(I32_LOCALS), I32],
      [...uleb(V128_LOCALS), V128],
    ]),
    ...body,
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32]]), ...vec([[I32]])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, ...uleb(Math.ceil(HEAP / 65536))]])),
    ...section(
      7,
      vec([
        [...name("find"), 0x00, 0],
        [...name("memory"), 0x02, 0],
      ]),
    ),
    ...section(10, vec([[...uleb(code.length), ...code]])),
  ]);
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (then: the JavaScript search). */
function teddy(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(teddyModule());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const isLetter = (c: number): boolean => (c | 32) >= 97 && (c | 32) <= 122;

function literalBytes(lit: Literal): Buffer {
  if (
    lit.text.length < 3 ||
    lit.text.length > MAX_LITERAL ||
    Array.from(lit.text).some((c) => c.charCodeAt(0) > 0xff)
  )
    throw new Error(
      `a literal must have 3 to ${MAX_LITERAL} characters below U+0100: ${JSON.stringify(lit.text)}`,
    );
  return Buffer.from(lit.ignoreCase ? lit.text.toLowerCase() : lit.text, "latin1");
}

/**
 * Buckets: literals sharing their first two bytes (case-folded if ignore-case) share a bucket, so
 * that their table bits combine into few false candidates; beyond 16 groups, groups with the same
 * first byte are merged first, then the smallest.
 */
function buckets(lits: Literal[], bytes: Buffer[]): number[][] {
  const groups = new Map<string, number[]>();
  lits.forEach((l, id) => {
    const key = `${l.ignoreCase ? "i" : "s"}${bytes[id]!.toString("latin1", 0, 2)}`;
    const g = groups.get(key);
    if (g) g.push(id);
    else groups.set(key, [id]);
  });
  const out = [...groups.values()];
  const first = (g: number[]) => bytes[g[0]!]![0]! | 32;
  while (out.length > 16) {
    let best: [number, number, number] | undefined;
    for (let a = 0; a < out.length; a++)
      for (let b = a + 1; b < out.length; b++) {
        const cost = (first(out[a]!) === first(out[b]!) ? 0 : 1000) + out[a]!.length + out[b]!.length;
        if (!best || cost < best[0]) best = [cost, a, b];
      }
    const [, a, b] = best!;
    out[a] = [...out[a]!, ...out[b]!];
    out.splice(b, 1);
  }
  return out;
}

class WasmFinder implements LiteralFinder {
  readonly kind = "wasm";
  private readonly memory: WebAssembly.Memory;
  private readonly run: (start: number, end: number, out: number) => number;
  private view: Buffer;
  private out: Uint32Array;
  private readonly lengths: number[];
  hits: Uint32Array = new Uint32Array(1024);

  constructor(module: WebAssembly.Module, lits: Literal[]) {
    const exports = new WebAssembly.Instance(module, {}).exports as {
      find: (start: number, end: number, out: number) => number;
      memory: WebAssembly.Memory;
    };
    this.run = exports.find;
    this.memory = exports.memory;
    this.view = Buffer.from(this.memory.buffer);
    this.out = new Uint32Array(this.memory.buffer, OUT, MAX_HITS * 2);
    const bytes = lits.map(literalBytes);
    this.lengths = bytes.map((b) => b.length);
    const mem = this.view;
    let listAt = 0;
    let bytesAt = LIT_BYTES;
    buckets(lits, bytes).forEach((ids, bucket) => {
      mem[BUCKETS + 2 * bucket] = listAt;
      mem[BUCKETS + 2 * bucket + 1] = ids.length;
      const set = bucket >> 3;
      const bit = 1 << (bucket & 7);
      for (const id of ids) {
        mem[LIST + listAt++] = id;
        for (let pos = 0; pos < 3; pos++) {
          const c = bytes[id]![pos]!;
          for (const v of lits[id]!.ignoreCase && isLetter(c) ? [c | 32, c & ~32] : [c]) {
            mem[TABLES + set * 96 + pos * 32 + (v & 15)]! |= bit;
            mem[TABLES + set * 96 + pos * 32 + 16 + (v >> 4)]! |= bit;
          }
        }
      }
    });
    bytes.forEach((b, id) => {
      mem.writeUInt32LE(bytesAt, LITS + id * 8);
      mem.writeUInt16LE(b.length, LITS + id * 8 + 4);
      mem.writeUInt16LE(lits[id]!.ignoreCase ? 1 : 0, LITS + id * 8 + 6);
      mem.set(b, bytesAt);
      bytesAt += b.length;
    });
    if (listAt > LITS - LIST || bytesAt > OUT) throw new Error("too many literals for the finder");
  }

  arena(bytes: number): Buffer {
    const need = HEAP + bytes + PAD;
    if (need > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((need - this.memory.buffer.byteLength) / 65536));
      this.view = Buffer.from(this.memory.buffer);
      this.out = new Uint32Array(this.memory.buffer, OUT, MAX_HITS * 2);
    }
    return this.view.subarray(HEAP, HEAP + bytes);
  }

  find(start: number, end: number, limit: number): number {
    let count = 0;
    for (let at = start; at < end; at += BLOCK) {
      const n = this.run(HEAP + at, HEAP + Math.min(at + BLOCK, end), OUT);
      if ((count + n) * 2 > this.hits.length) {
        const bigger = new Uint32Array(Math.max(this.hits.length * 2, (count + n) * 2));
        bigger.set(this.hits.subarray(0, count * 2));
        this.hits = bigger;
      }
      const o = this.out;
      const hits = this.hits;
      for (let k = 0; k < n; k++) {
        const pos = o[2 * k]! - HEAP;
        const id = o[2 * k + 1]!;
        // The last step of 16 may pass `end`, and the bytes past `limit` are not the text's.
        if (pos >= end || pos + this.lengths[id]! > limit) continue;
        hits[2 * count] = pos;
        hits[2 * count + 1] = id;
        count++;
      }
    }
    return count;
  }
}

/** The same answers in plain JavaScript: one search per literal, merged by position. */
class JsFinder implements LiteralFinder {
  readonly kind = "js";
  private buf = Buffer.alloc(0);
  private readonly bytes: Buffer[];

  constructor(private readonly lits: Literal[]) {
    this.bytes = lits.map(literalBytes);
  }

  arena(bytes: number): Buffer {
    if (this.buf.length < bytes) this.buf = Buffer.alloc(Math.max(bytes, this.buf.length * 2));
    return this.buf.subarray(0, bytes);
  }

  hits: Uint32Array = new Uint32Array(0);

  find(start: number, end: number, limit: number): number {
    const r = findLiterals(this.buf, start, end, limit, this.lits, this.bytes);
    this.hits = r.hits;
    return r.count;
  }
}

/** Every occurrence of `lits` starting in buf[start, end) and ending by `limit`, by position then id. */
export function findLiterals(
  buf: Buffer,
  start: number,
  end: number,
  limit: number,
  lits: Literal[],
  bytes: Buffer[] = lits.map(literalBytes),
): { hits: Uint32Array; count: number } {
  const text = buf.toString("latin1", start, limit);
  const lower = lits.some((l) => l.ignoreCase) ? text.toLowerCase() : text;
  const found: [number, number][] = [];
  lits.forEach((l, id) => {
    const needle = bytes[id]!.toString("latin1");
    const hay = l.ignoreCase ? lower : text;
    for (let i = hay.indexOf(needle); i !== -1 && i < end - start; i = hay.indexOf(needle, i + 1))
      found.push([start + i, id]);
  });
  found.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const hits = new Uint32Array(found.length * 2);
  found.forEach(([pos, id], k) => {
    hits[2 * k] = pos;
    hits[2 * k + 1] = id;
  });
  return { hits, count: found.length };
}

/** A finder for `lits`: WebAssembly where available (`prefer: "js"` forces the fallback, for tests). */
export function literalFinder(lits: Literal[], prefer: "wasm" | "js" = "wasm"): LiteralFinder {
  const module = prefer === "wasm" ? teddy() : null;
  return module ? new WasmFinder(module, lits) : new JsFinder(lits);
}
