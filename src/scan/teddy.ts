/**
 * The literal finder behind the scan: every occurrence of a set of short literals (the rules'
 * anchors, some case-insensitive) in a buffer, in one pass of WebAssembly SIMD — the table lookups
 * alone run at 2–3 GB/s on one core, where one JavaScript regular-expression pass over the same
 * text runs at 0.1–0.3 GB/s and the rules would need dozens of them.
 *
 * The algorithm is Teddy (from Intel's Hyperscan, as in ripgrep): literals are put in 16 buckets;
 * for the first 3 bytes of the literals, two 16-entry tables per byte position (one indexed by the
 * low nibble, one by the high nibble of the text byte) hold a bit per bucket. `i8x16.swizzle` looks
 * 16 text bytes up at once, so the AND of the six lookups says, for 16 positions at a time, which
 * buckets may start there. The rare positions where one may are checked against the bucket's
 * literals (folding ASCII case for case-insensitive ones). What is searched for is a list of
 * needles: a literal, and optionally steps that the text right after it must pass (a few byte
 * classes with counts: "name characters, a quote, spaces, = or :") — several needles may share a
 * literal. Each needle found, and whose steps pass, is reported as (position, needle index), in
 * increasing position order.
 *
 * The module is assembled here from its instructions (one function, no build step) and checked
 * against a plain JavaScript search in the tests (test/scan/engine.test.ts). Without WebAssembly SIMD, `LiteralFinder` falls
 * back to that JavaScript search: same answers, slower.
 */

import { TEDDY_BUCKETS, TEDDY_WASM } from "./teddy-module.js";

export interface Needle {
  /** At least 3 characters, all below U+0100 (they are matched against latin1 bytes). */
  text: string;
  /** Match ASCII letters in either case. */
  ignoreCase: boolean;
  /** What the text right after the literal must pass for the needle to be reported. */
  after?: Step[];
  /** With `after`: the hits it drops (see Drop). */
  drop?: Drop;
}

/**
 * Hits of a needle that its caller does not want, dropped in the finder: where, after the steps
 * passed, the value (the run of `bytes` from where the last step begins, capped at `max` + 1 bytes
 * and at the end of the text) is longer than `max` or holds the two bytes of `pair` in a row —
 * unless a literal of a needle in the same `group` (its first 4 bytes, folded if ignore-case)
 * starts after the hit and before the value's end + 1 (`max` + 1 past its start if longer). Used
 * only where the steps have no `open` step and no literal of the group starts another; else ignored.
 */
export interface Drop {
  bytes: Uint8Array;
  /** At most 65,535. */
  max: number;
  pair: [number, number];
  group: number;
}

/**
 * Greedily, as many bytes of `bytes` (a 256-byte table, 1 = in the class) as there are, up to
 * `max`: fewer than `min` fails the needle; `max` of them with `open` set passes it whatever
 * follows (the pattern allows more than the finder looks at). Past the end of the text there are
 * no bytes. Steps do not backtrack: a step's class must have no byte in common with the next
 * step's, unless the step takes exactly one byte.
 */
export interface Step {
  bytes: Uint8Array;
  min: number;
  /** At most 255. */
  max: number;
  open?: boolean;
}

/** Searches text put in its arena (WebAssembly memory when it can, so that nothing is copied). */
export interface LiteralFinder {
  readonly kind: "wasm" | "js";
  /**
   * A buffer of `bytes` bytes to put text in; it replaces (and may invalidate) the previous one,
   * and starts with the same bytes.
   */
  arena(bytes: number): Buffer;
  /**
   * Every needle found starting in arena[start, end), ending by `limit` (≤ the arena's length) and
   * passing its steps there (the text ending at `limit`), by increasing position: `hits[2k]` its
   * position, `hits[2k+1]` the needle's index in the list the finder was made for (at one position,
   * by increasing index). Returns how many; `hits` is valid until the next call.
   */
  find(start: number, end: number, limit: number): number;
  readonly hits: Uint32Array;
}

/** Hits one call can report: each call scans a block of positions short enough for every needle to be found at every one. */
const MAX_HITS = 1 << 18;
/** Bytes after the text that the finder may read: the last step of 16, 2 more, then a literal. */
const PAD = 64;
const MAX_LITERAL = 32;

// ---- memory layout (bytes) ----
const TABLES = 0; // 2 sets × 3 positions × (low, high) × 16
const SCRATCH = 192; // two 16-byte bucket masks
const BUCKETS = 256; // 16 × (first literal-list index, count)
const LIST = 320; // literal ids by bucket (≤ 192)
/**
 * Per literal, 32 bytes: u32 its first 4 bytes (lowercase if ignore-case, zero past its end), u32
 * the bits to set in the text's 4 bytes before comparing (0x20 on letters if ignore-case), u32 the
 * bytes compared (its length, up to 4); u32 where its bytes are; u8 its length, u8 ignore-case,
 * u8 its first entry, u8 how many entries (needles) it has.
 */
const LITS = 512;
const MAX_LITERALS = 64;
const LIT_BYTES = LITS + MAX_LITERALS * 32; // the literals' bytes (lowercase when ignore-case)
const ENTRIES = 4096; // per needle, by literal: u16 needle index, u16 where its steps are (0: none)
const MAX_NEEDLES = 256;
/** Steps: u8 how many, then 4 bytes each: u8 class, u8 min, u8 max, u8 open. */
const PROGRAMS = ENTRIES + MAX_NEEDLES * 4;
const CLASSES = PROGRAMS + 1024; // 256 bytes per class
const MAX_CLASSES = 16;
/**
 * Drops: per needle entry, u16 where its drop spec is (0: none); then the specs, one per group:
 * u8 the value's class, u8 how many literals the group has, u16 max, u8 u8 the pair, 2 unused,
 * 256 bytes: for each byte, a bit for each literal of the group that can start with it; then the
 * group's literal ids (up to 8).
 */
const DROPS = CLASSES + MAX_CLASSES * 256;
const DROP_LIST = 8 + 256;
const DROP_SPEC = DROP_LIST + 8;
const MAX_GROUPS = 4;
/**
 * The context filter (see contextFilter): 16-byte vectors — the filtered buckets' bits in set 0 and
 * in set 1, the nibble tables (low, high) of its run class Z, the other buckets' bits in set 0 and
 * in set 1; then its stop class K (256 bytes).
 */
const FILTER = DROPS + 512 + MAX_GROUPS * DROP_SPEC;
const OUT = FILTER + 96 + 256;
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
  else: [0x05],
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
  select: [0x1b],
  eqz: [0x45],
  eq: [0x46],
  ne: [0x47],
  ltU: [0x49],
  gtU: [0x4b],
  leU: [0x4d],
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
 * `find(start, end, out, limit) -> count`: the Teddy loop over [start, end) in steps of 16, then
 * the exact check of each candidate (and of its needles' steps, within `limit`). Locals: params 0–3, then
 * i32s, then v128s.
 */
export function teddyModule(): Uint8Array<ArrayBuffer> {
  const [START, END, OUTP, LIMIT] = [0, 1, 2, 3];
  const [I, N, BITS, J, POS, MASK, BK, LI, LE, ID, LEN, OFF, Q, C, CI, OK, D] = [
    4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
  ];
  // entries and their steps
  const [E, EE, PR, SC, CLS, NN, IP] = [21, 22, 23, 24, 25, 26, 27];
  // drops: where the value starts, the spec, the value's end + 1, a position, the group's literals
  // starting there, a literal's record and its compared length
  const [VS, DR, DE, X, GE, LD, LL] = [28, 29, 30, 31, 32, 33, 34];
  // the context filter: the positions of filtered candidates, the run class's mask over 32 bytes,
  // the runs' ends
  const [FB, ZM, SM] = [35, 36, 37];
  const I32_LOCALS = 34;
  const table = (set: number, pos: number, high: number) => 38 + set * 6 + pos * 2 + high; // 38..49
  const [MLO, MHI, NIBBLE, ZERO] = [50, 51, 52, 53];
  const textNibble = (pos: number, high: number) => 54 + pos * 2 + high; // 54..59
  const V128_LOCALS = 22;
  // free once the bucket bits are computed: a block of text's high and low nibbles
  const [NIBBLE_TMP, LO_TMP] = [textNibble(0, 0), textNibble(0, 1)];

  /** The 16 bytes at `address`. */
  const vectorAt = (address: number) => [...op.i32(0), ...op.vload(address)];
  /** Of the vector on the stack, a 16-bit mask of its non-zero bytes. */
  const nonZeroMask = [...op.get(ZERO), ...op.eq8, ...op.bitmask, ...op.i32(0xffff), ...op.xor];
  /** `local += 1`. */
  const increment = (local: number) => [...op.get(local), ...op.i32(1), ...op.add, ...op.set(local)];
  /** The number on the stack, capped at LIMIT (C holds it). */
  const capAtLimit = [
    ...op.tee(C),
    ...op.get(LIMIT),
    ...op.get(C),
    ...op.get(LIMIT),
    ...op.ltU,
    ...op.select,
  ];
  /** CLS = the class whose index is the first byte at `spec` (a step or a drop spec). */
  const classOf = (spec: number) => [
    ...op.get(spec),
    ...op.load8(0),
    ...op.i32(8),
    ...op.shl,
    ...op.i32(CLASSES),
    ...op.add,
    ...op.set(CLS),
  ];
  /** The literal id on the stack -> where its 32-byte record is. */
  const literalRecord = [...op.i32(5), ...op.shl, ...op.i32(LITS), ...op.add];
  /**
   * For the literal whose record is at `record`: the 4 text bytes at `text` (letters folded if
   * ignore-case, masked to its length), then its first 4 bytes — on the stack, for `eq` or `ne`.
   */
  const firstWords = (text: number, record: number) => [
    ...op.get(text),
    ...op.load32(0),
    ...op.get(record),
    ...op.load32(4),
    ...op.or,
    ...op.get(record),
    ...op.load32(8),
    ...op.and,
    ...op.get(record),
    ...op.load32(0),
  ];
  /** Q = the end of the run of bytes of the class at CLS from `from`, stopping at NN. */
  const runOfClass = (from: number) => [
    ...op.get(from),
    ...op.set(Q),
    ...op.block,
    ...op.loop,
    ...op.get(Q),
    ...op.get(NN),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(CLS),
    ...op.get(Q),
    ...op.load8(0),
    ...op.add,
    ...op.load8(0),
    ...op.eqz,
    ...op.brIf(1),
    ...increment(Q),
    ...op.br(0),
    ...op.end,
    ...op.end,
  ];

  const body: number[] = [];
  for (let set = 0; set < 2; set++)
    for (let pos = 0; pos < 3; pos++)
      for (let high = 0; high < 2; high++)
        body.push(...vectorAt(TABLES + (set * 6 + pos * 2 + high) * 16), ...op.set(table(set, pos, high)));
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

  /**
   * The context filter's verdict for 16 text bytes at I + `offset`: a 16-bit mask of the positions
   * whose byte class (looked up by low and high nibble in the filter's tables) may still pass.
   */
  const filterMask16 = (offset: number) => [
    ...op.get(I),
    ...op.vload(offset),
    ...op.tee(NIBBLE_TMP),
    ...op.get(NIBBLE),
    ...op.vand,
    ...op.set(LO_TMP),
    ...op.get(NIBBLE_TMP),
    ...op.i32(4),
    ...op.shrU8,
    ...op.set(NIBBLE_TMP),
    ...vectorAt(FILTER + 32),
    ...op.get(LO_TMP),
    ...op.swizzle,
    ...vectorAt(FILTER + 48),
    ...op.get(NIBBLE_TMP),
    ...op.swizzle,
    ...op.vand,
    ...nonZeroMask,
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

  /**
   * Literal ID at POS: its first 4 bytes in one compare, the rest byte by byte (folding A-Z to a-z
   * when CI), then the steps of each of its needles; emit (POS, needle) for each that passes.
   */
  const check = [
    ...op.get(ID),
    ...literalRecord,
    ...op.set(D),
    ...op.block, // the literal is not here: br 0 out of this block
    // ((text | fold) & mask) == word: most false candidates end here.
    ...firstWords(POS, D),
    ...op.ne,
    ...op.brIf(0),
    ...op.get(D),
    ...op.load32(12),
    ...op.set(OFF),
    ...op.get(D),
    ...op.load8(16),
    ...op.set(LEN),
    ...op.get(D),
    ...op.load8(17),
    ...op.set(CI),
    ...op.i32(4),
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
    ...op.brIf(2), // a byte differs: out of the outer block
    ...increment(Q),
    ...op.br(0),
    ...op.end,
    ...op.end,
    // The literal is here. Each of its needles (entries E to EE) whose steps pass is reported.
    ...op.get(D),
    ...op.load8(18),
    ...op.tee(E),
    ...op.get(D),
    ...op.load8(19),
    ...op.add,
    ...op.set(EE),
    ...op.block, // BE
    ...op.loop, // LE: an entry
    ...op.get(E),
    ...op.get(EE),
    ...op.geU,
    ...op.brIf(1),
    ...op.i32(1),
    ...op.set(OK),
    ...op.get(E),
    ...op.i32(2),
    ...op.shl,
    ...op.load16(ENTRIES + 2),
    ...op.set(PR),
    ...op.block, // BP: the steps are decided, OK says how
    ...op.get(PR),
    ...op.eqz,
    ...op.brIf(0),
    ...op.get(PR),
    ...op.load8(0),
    ...op.set(SC),
    ...increment(PR),
    ...op.get(POS),
    ...op.get(LEN),
    ...op.add,
    ...op.set(IP),
    ...op.loop, // LS: a step
    ...op.get(SC),
    ...op.eqz,
    ...op.brIf(1), // every step passed
    ...op.get(IP),
    ...op.set(VS), // where this step starts (after the last one: the value)
    ...classOf(PR),
    // The run of the class from IP, up to END = min(IP + max, LIMIT): NN bytes (Q its end).
    ...op.get(IP),
    ...op.get(PR),
    ...op.load8(2),
    ...op.add,
    ...capAtLimit,
    ...op.set(NN), // NN holds END for now
    ...runOfClass(IP),
    ...op.get(Q),
    ...op.get(IP),
    ...op.sub,
    ...op.set(NN),
    // Fewer than min: fails. max of an open step: passes.
    ...op.i32(0),
    ...op.set(OK),
    ...op.get(NN),
    ...op.get(PR),
    ...op.load8(1),
    ...op.ltU,
    ...op.brIf(1),
    ...op.i32(1),
    ...op.set(OK),
    ...op.get(PR),
    ...op.load8(3),
    ...op.get(NN),
    ...op.get(PR),
    ...op.load8(2),
    ...op.eq,
    ...op.and,
    ...op.brIf(1),
    ...op.get(Q),
    ...op.set(IP),
    ...op.get(PR),
    ...op.i32(4),
    ...op.add,
    ...op.set(PR),
    ...op.get(SC),
    ...op.i32(1),
    ...op.sub,
    ...op.set(SC),
    ...op.br(0),
    ...op.end, // LS
    ...op.end, // BP
    // A hit with a drop spec whose value is turned down is dropped, unless a literal of its
    // group starts after it and before the value's end + 1.
    ...op.block, // BD: decided, OK says how
    ...op.get(OK),
    ...op.eqz,
    ...op.brIf(0),
    ...op.get(E),
    ...op.i32(1),
    ...op.shl,
    ...op.load16(DROPS),
    ...op.tee(DR),
    ...op.eqz,
    ...op.brIf(0),
    ...classOf(DR),
    // The value: up to max + 1 bytes of its class from VS, within LIMIT.
    ...op.get(VS),
    ...op.get(DR),
    ...op.load16(2),
    ...op.add,
    ...op.i32(1),
    ...op.add,
    ...capAtLimit,
    ...op.set(NN),
    ...runOfClass(VS),
    ...op.get(Q),
    ...op.get(VS),
    ...op.sub,
    ...op.get(DR),
    ...op.load16(2),
    ...op.gtU,
    ...op.if, // longer than max: its end is VS + max + 1
    ...op.get(VS),
    ...op.get(DR),
    ...op.load16(2),
    ...op.add,
    ...op.i32(1),
    ...op.add,
    ...op.set(DE),
    ...op.else,
    ...op.i32(0),
    ...op.set(DE),
    ...op.get(VS),
    ...op.set(X),
    ...op.block,
    ...op.loop, // the pair in the value: its end is Q + 1
    ...op.get(X),
    ...op.i32(1),
    ...op.add,
    ...op.get(Q),
    ...op.geU,
    ...op.brIf(1),
    ...op.get(X),
    ...op.load8(0),
    ...op.get(DR),
    ...op.load8(4),
    ...op.eq,
    ...op.get(X),
    ...op.load8(1),
    ...op.get(DR),
    ...op.load8(5),
    ...op.eq,
    ...op.and,
    ...op.if,
    ...op.get(Q),
    ...op.i32(1),
    ...op.add,
    ...op.set(DE),
    ...op.br(2),
    ...op.end,
    ...increment(X),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.end,
    ...op.get(DE),
    ...op.eqz,
    ...op.brIf(0), // not turned down: kept
    // A literal of the group (its first 4 bytes, within LIMIT) starting in [POS + 1, DE): kept.
    ...op.get(POS),
    ...op.i32(1),
    ...op.add,
    ...op.set(X),
    ...op.loop, // LX
    ...op.get(X),
    ...op.get(DE),
    ...op.geU,
    ...op.if,
    ...op.i32(0),
    ...op.set(OK),
    ...op.br(2), // none: dropped
    ...op.end,
    ...op.get(DR),
    ...op.get(X),
    ...op.load8(0),
    ...op.add,
    ...op.load8(8),
    ...op.tee(GE), // a bit for each literal of the group that starts with this byte
    ...op.if,
    ...op.block,
    ...op.loop,
    ...op.get(GE),
    ...op.eqz,
    ...op.brIf(1),
    ...op.get(DR),
    ...op.get(GE),
    ...op.ctz,
    ...op.add,
    ...op.load8(DROP_LIST),
    ...literalRecord,
    ...op.tee(LD),
    ...op.load8(16),
    ...op.tee(LL),
    ...op.i32(4),
    ...op.get(LL),
    ...op.i32(4),
    ...op.ltU,
    ...op.select,
    ...op.set(LL), // min(length, 4)
    ...op.get(X),
    ...op.get(LL),
    ...op.add,
    ...op.get(LIMIT),
    ...op.leU,
    ...firstWords(X, LD),
    ...op.eq,
    ...op.and,
    ...op.brIf(4), // found: out of BD, kept
    ...clearLowest(GE),
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.end,
    ...increment(X),
    ...op.br(0),
    ...op.end, // LX
    ...op.end, // BD
    ...op.get(OK),
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
    ...op.get(E),
    ...op.i32(2),
    ...op.shl,
    ...op.load16(ENTRIES),
    ...op.store32(4),
    ...increment(N),
    ...op.end,
    ...increment(E),
    ...op.br(0),
    ...op.end, // LE
    ...op.end, // BE
    ...op.end, // the literal's block
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
    // Filtered candidates (see contextFilter): unless one of them may pass, they go.
    ...op.get(MLO),
    ...vectorAt(FILTER),
    ...op.vand,
    ...op.get(MHI),
    ...vectorAt(FILTER + 16),
    ...op.vand,
    ...op.vor,
    ...nonZeroMask,
    ...op.tee(FB),
    ...op.if,
    ...filterMask16(0),
    ...op.set(ZM),
    ...filterMask16(16),
    ...op.i32(16),
    ...op.shl,
    ...op.get(ZM),
    ...op.or,
    ...op.set(ZM),
    // From each filtered candidate, the run of Z (carried up by the addition) ends where?
    ...op.block, // BF: passes
    ...op.get(ZM),
    ...op.get(FB),
    ...op.add,
    ...op.tee(SM),
    ...op.get(ZM),
    ...op.ltU,
    ...op.brIf(0), // past the 32 bytes: may pass
    ...op.get(SM),
    ...op.get(ZM),
    ...op.i32(-1),
    ...op.xor,
    ...op.and,
    ...op.set(SM), // the runs' ends
    ...op.loop,
    ...op.get(SM),
    ...op.if,
    ...op.get(I),
    ...op.get(SM),
    ...op.ctz,
    ...op.add,
    ...op.load8(0),
    ...op.load8(FILTER + 96), // K
    ...op.brIf(2), // ends on a byte of K: passes
    ...clearLowest(SM),
    ...op.br(1),
    ...op.end,
    ...op.end,
    // None does: the filtered buckets' bits go.
    ...op.get(MLO),
    ...vectorAt(FILTER + 64),
    ...op.vand,
    ...op.set(MLO),
    ...op.get(MHI),
    ...vectorAt(FILTER + 80),
    ...op.vand,
    ...op.set(MHI),
    ...op.end, // BF
    ...op.end,
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
    ...nonZeroMask,
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
    ...increment(LI),
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
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32]]), ...vec([[I32]])]])),
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
      compiled = new WebAssembly.Module(Buffer.from(TEDDY_WASM, "base64"));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const isLetter = (c: number): boolean => (c | 32) >= 97 && (c | 32) <= 122;

interface Literal {
  text: string;
  ignoreCase: boolean;
  bytes: Buffer;
  /** the needles with this literal, by index */
  needles: number[];
}

function checkNeedle(n: Needle): void {
  if (
    n.text.length < 3 ||
    n.text.length > MAX_LITERAL ||
    Array.from(n.text).some((c) => c.charCodeAt(0) > 0xff)
  )
    throw new Error(
      `a needle's literal has 3 to ${MAX_LITERAL} characters below U+0100: ${JSON.stringify(n.text)}`,
    );
  for (const step of n.after ?? [])
    if (step.bytes.length !== 256 || !(step.min >= 0 && step.min <= step.max && step.max <= 255))
      throw new Error("a step has a class of 256 bytes and 0 <= min <= max <= 255");
}

/** The distinct literals of `needles` (case-folded when ignore-case). */
export function literalsOf(needles: Needle[]): Literal[] {
  const byKey = new Map<string, Literal>();
  needles.forEach((n, index) => {
    checkNeedle(n);
    const text = n.ignoreCase ? n.text.toLowerCase() : n.text;
    const key = `${n.ignoreCase ? "i" : "s"}${text}`;
    let lit = byKey.get(key);
    if (!lit) {
      lit = { text, ignoreCase: n.ignoreCase, bytes: Buffer.from(text, "latin1"), needles: [] };
      byKey.set(key, lit);
    }
    lit.needles.push(index);
  });
  return [...byKey.values()];
}

/**
 * How common a byte is in source text, roughly (lowercase letters 1): to estimate how many false
 * candidates a bucket's tables let through.
 */
function commonness(c: number): number {
  if (c >= 97 && c <= 122) return 1;
  if (c === 32) return 4;
  if (c >= 65 && c <= 90) return 0.15;
  if (c >= 48 && c <= 57) return 0.1;
  if (c === 10 || c === 9) return 0.5;
  return c < 128 ? 0.2 : 0.01;
}

/** The bytes (both cases, if ignore-case) each of the first 3 positions of a literal accepts. */
function positionBytes(lit: Literal): number[][] {
  return [0, 1, 2].map((pos) => {
    const c = lit.bytes[pos]!;
    return lit.ignoreCase && isLetter(c) ? [c | 32, c & ~32] : [c];
  });
}

/** A bucket's tables, for estimating: per position, a bit per low nibble and a bit per high nibble. */
type Nibbles = [number, number, number, number, number, number];

const COMMONNESS = Float64Array.from({ length: 256 }, (_, c) => commonness(c));

/** The estimated false candidates of a bucket: per position, how common the bytes it accepts are. */
function accepted(n: Nibbles, m?: Nibbles): number {
  let product = 1;
  for (let pos = 0; pos < 3; pos++) {
    // (of two buckets merged, when m is given)
    const low = n[2 * pos]! | (m ? m[2 * pos]! : 0);
    const high = n[2 * pos + 1]! | (m ? m[2 * pos + 1]! : 0);
    let sum = 0;
    // Over the set bits only: a bucket's literals have few distinct nibbles.
    for (let hs = high; hs !== 0; hs &= hs - 1) {
      const h = 31 - Math.clz32(hs & -hs);
      for (let ls = low; ls !== 0; ls &= ls - 1) sum += COMMONNESS[(h << 4) | (31 - Math.clz32(ls & -ls))]!;
    }
    product *= sum;
  }
  return product;
}

/**
 * Buckets: literals sharing their first two bytes (case-folded if ignore-case) start in one; then,
 * down to 16, the two whose merging adds the fewest estimated false candidates are merged — a
 * bucket's tables accept every combination of the low and high nibbles its literals have at each
 * position, so the estimate is the product over positions of the commonness of those bytes.
 */
export function buckets(lits: Literal[], filtered: boolean[] = []): number[][] {
  const groups = new Map<string, { ids: number[]; nibbles: Nibbles; filtered: boolean }>();
  lits.forEach((l, id) => {
    const f = filtered[id] === true;
    const key = `${f ? "f" : ""}${l.ignoreCase ? "i" : "s"}${l.bytes.toString("latin1", 0, 2)}`;
    let g = groups.get(key);
    if (!g) {
      g = { ids: [], nibbles: [0, 0, 0, 0, 0, 0], filtered: f };
      groups.set(key, g);
    }
    g.ids.push(id);
    positionBytes(l).forEach((accept, pos) => {
      for (const c of accept) {
        g.nibbles[2 * pos]! |= 1 << (c & 15);
        g.nibbles[2 * pos + 1]! |= 1 << (c >> 4);
      }
    });
  });
  const out = [...groups.values()].map((g) => ({ ...g, cost: accepted(g.nibbles) }));
  // merged[a][b - a - 1] (a < b): the cost of buckets a and b merged. Computed once per pair and
  // again only for a pair with a freshly merged bucket (start-up time: the estimate is not cheap).
  const union = (a: number, b: number) => out[a]!.nibbles.map((x, k) => x | out[b]!.nibbles[k]!) as Nibbles;
  const merged = out.map((g, a) => out.slice(a + 1).map((h) => accepted(g.nibbles, h.nibbles)));
  while (out.length > 16) {
    let best: { a: number; b: number; added: number } | undefined;
    for (let a = 0; a < out.length; a++)
      for (let b = a + 1; b < out.length; b++) {
        // A bucket of filtered literals (see contextFilter) holds only those.
        if (out[a]!.filtered !== out[b]!.filtered) continue;
        const added = merged[a]![b - a - 1]! - out[a]!.cost - out[b]!.cost;
        if (!best || added < best.added) best = { a, b, added };
      }
    const { a, b } = best!;
    const nibbles = union(a, b);
    out[a] = {
      ids: [...out[a]!.ids, ...out[b]!.ids],
      nibbles,
      cost: merged[a]![b - a - 1]!,
      filtered: out[a]!.filtered,
    };
    out.splice(b, 1);
    merged.splice(b, 1);
    for (let x = 0; x < b; x++) merged[x]!.splice(b - x - 1, 1);
    for (let x = 0; x < out.length; x++)
      if (x < a) merged[x]![a - x - 1] = accepted(out[x]!.nibbles, nibbles);
      else if (x > a) merged[a]![x - a - 1] = accepted(nibbles, out[x]!.nibbles);
  }
  return out.map((g) => g.ids);
}

/**
 * The context filter: most places where a keyword such as "key" occurs fail its needles' first
 * mandatory step (an operator after a name), and checking them one at a time costs more than the
 * search. So, for the literals whose needles all say so, the 16 positions of a block are checked
 * at once: from each, the run of bytes of Z (the literal's bytes and every byte the steps before
 * the first mandatory one accept) must end on a byte of K (what that step accepts; no byte of K
 * is in Z), or go on past the 32 bytes from the block's start looked at. That holds wherever a
 * needle's steps pass (as far as the first mandatory step; an open step before it must have a max
 * of 32 or more, so that reaching it runs past the 32 bytes), so a block where no run passes drops
 * the filtered literals' candidates. Z must take at most 8 distinct sets of low nibbles over the
 * high nibbles (it is looked up, 16 bytes at a time, as two 16-byte tables). Returns, per literal,
 * whether it is filtered, and the two classes; undefined when no literal is.
 */
export function contextFilter(
  needles: Needle[],
  lits: Literal[],
): { filtered: boolean[]; z: Uint8Array; k: Uint8Array } | undefined {
  const union = (into: Uint8Array, from: Uint8Array) => {
    for (let c = 0; c < 256; c++) into[c]! |= from[c]!;
  };
  const disjoint = (a: Uint8Array, b: Uint8Array) => a.every((x, c) => x === 0 || b[c] === 0);
  /** A literal's own Z and K, if all its needles allow one. */
  const own = (lit: Literal): { z: Uint8Array; k: Uint8Array } | undefined => {
    if (lit.needles.some((n) => !needles[n]!.after?.some((s) => s.min >= 1))) return undefined;
    const z = new Uint8Array(256);
    const k = new Uint8Array(256);
    for (const accept of positionBytes(lit).concat(
      [...lit.bytes.subarray(3)].map((c) => (lit.ignoreCase && isLetter(c) ? [c | 32, c & ~32] : [c])),
    ))
      for (const c of accept) z[c] = 1;
    for (const n of lit.needles) {
      const steps = needles[n]!.after;
      const first = steps?.findIndex((s) => s.min >= 1) ?? -1;
      if (!steps || first < 0) return undefined;
      for (const s of steps.slice(0, first)) {
        if (s.open && s.max < 32) return undefined;
        union(z, s.bytes);
      }
      union(k, steps[first]!.bytes);
    }
    return disjoint(z, k) ? { z, k } : undefined;
  };
  const z = new Uint8Array(256);
  const k = new Uint8Array(256);
  const filtered = lits.map((lit) => {
    const o = own(lit);
    if (!o) return false;
    // Nothing new (the usual case: keywords sharing their rules' steps): still valid.
    if (o.z.every((x, c) => x === 0 || z[c] === 1) && o.k.every((x, c) => x === 0 || k[c] === 1)) return true;
    const z2 = Uint8Array.from(z);
    const k2 = Uint8Array.from(k);
    union(z2, o.z);
    union(k2, o.k);
    if (!disjoint(z2, k2) || !nibbleTables(z2)) return false;
    z.set(z2);
    k.set(k2);
    return true;
  });
  return filtered.some((f) => f) ? { filtered, z, k } : undefined;
}

/**
 * A byte class as two 16-byte tables, indexed by a byte's low and by its high nibble: the byte is
 * in the class when the two entries share a bit. Undefined if it takes more than 8 distinct sets
 * of low nibbles.
 */
function nibbleTables(cls: Uint8Array): { low: Uint8Array; high: Uint8Array } | undefined {
  const low = new Uint8Array(16);
  const high = new Uint8Array(16);
  const sets: number[] = [];
  for (let h = 0; h < 16; h++) {
    let set = 0;
    for (let l = 0; l < 16; l++) if (cls[(h << 4) | l]) set |= 1 << l;
    if (set === 0) continue;
    let bit = sets.indexOf(set);
    if (bit < 0) bit = sets.push(set) - 1;
    if (bit >= 8) return undefined;
    high[h] = 1 << bit;
    for (let l = 0; l < 16; l++) if (set & (1 << l)) low[l]! |= 1 << bit;
  }
  return { low, high };
}

/** What buckets() depends on, as a string: each literal, its case and whether it is filtered, in order. */
export function bucketsKey(lits: Literal[], filtered: boolean[] = []): string {
  return JSON.stringify(
    lits.map((l, id) => `${filtered[id] ? "f" : "-"}${l.ignoreCase ? "i" : "s"}${l.text}`),
  );
}

class WasmFinder implements LiteralFinder {
  readonly kind = "wasm";
  private readonly memory: WebAssembly.Memory;
  private readonly run: (start: number, end: number, out: number, limit: number) => number;
  private view: Buffer;
  private out: Uint32Array;
  private readonly lengths: number[];
  /** Positions scanned per call. */
  private readonly block: number;
  hits: Uint32Array = new Uint32Array(1024);

  constructor(module: WebAssembly.Module, needles: Needle[]) {
    const exports = new WebAssembly.Instance(module, {}).exports as {
      find: (start: number, end: number, out: number, limit: number) => number;
      memory: WebAssembly.Memory;
    };
    this.run = exports.find;
    this.memory = exports.memory;
    this.view = Buffer.from(this.memory.buffer);
    this.out = new Uint32Array(this.memory.buffer, OUT, MAX_HITS * 2);
    const lits = literalsOf(needles);
    if (lits.length > MAX_LITERALS || needles.length > MAX_NEEDLES)
      throw new RangeError("too many needles for the finder");
    this.lengths = needles.map((n) => n.text.length);
    // Every needle could be found at every position of a block: the output area must hold that.
    this.block = Math.max(16, Math.floor(MAX_HITS / needles.length / 16) * 16);
    const mem = this.view;
    let listAt = 0;
    const filter = contextFilter(needles, lits);
    // The built-in rules' buckets are kept (their merging is a few milliseconds of cold start-up).
    const known = bucketsKey(lits, filter?.filtered) === TEDDY_BUCKETS.literals;
    (known ? TEDDY_BUCKETS.buckets : buckets(lits, filter?.filtered)).forEach((ids, bucket) => {
      mem[BUCKETS + 2 * bucket] = listAt;
      mem[BUCKETS + 2 * bucket + 1] = ids.length;
      const set = bucket >> 3;
      const bit = 1 << (bucket & 7);
      // The filter's bucket bits, and the others' (a bucket holds filtered literals only, or none).
      const isFiltered = filter !== undefined && filter.filtered[ids[0]!] === true;
      for (let j = 0; j < 16; j++) mem[FILTER + set * 16 + j]! |= isFiltered ? bit : 0;
      for (let j = 0; j < 16; j++) mem[FILTER + 64 + set * 16 + j]! |= isFiltered ? 0 : bit;
      for (const id of ids) {
        mem[LIST + listAt++] = id;
        positionBytes(lits[id]!).forEach((accept, pos) => {
          for (const v of accept) {
            mem[TABLES + set * 96 + pos * 32 + (v & 15)]! |= bit;
            mem[TABLES + set * 96 + pos * 32 + 16 + (v >> 4)]! |= bit;
          }
        });
      }
    });
    if (filter) {
      const z = nibbleTables(filter.z)!;
      mem.set(z.low, FILTER + 32);
      mem.set(z.high, FILTER + 48);
      mem.set(filter.k, FILTER + 96);
    }
    const classes: Uint8Array[] = [];
    const classIndex = (bytes: Uint8Array): number => {
      let i = classes.indexOf(bytes);
      if (i < 0) {
        i = classes.push(bytes) - 1;
        if (i >= MAX_CLASSES) throw new RangeError("too many step classes for the finder");
        mem.set(bytes, CLASSES + i * 256);
      }
      return i;
    };
    let bytesAt = LIT_BYTES;
    let entry = 0;
    let programAt = PROGRAMS + 4; // 0 means "no steps"
    lits.forEach((lit, id) => {
      const d = LITS + id * 32;
      for (let k = 0; k < Math.min(4, lit.bytes.length); k++) {
        mem[d + k] = lit.bytes[k]!;
        mem[d + 4 + k] = lit.ignoreCase && isLetter(lit.bytes[k]!) ? 0x20 : 0;
        mem[d + 8 + k] = 0xff;
      }
      mem.writeUInt32LE(bytesAt, d + 12);
      mem[d + 16] = lit.bytes.length;
      mem[d + 17] = lit.ignoreCase ? 1 : 0;
      mem[d + 18] = entry;
      mem[d + 19] = lit.needles.length;
      mem.set(lit.bytes, bytesAt);
      bytesAt += lit.bytes.length;
      for (const n of lit.needles) {
        const steps = needles[n]!.after;
        mem.writeUInt16LE(n, ENTRIES + entry * 4);
        mem.writeUInt16LE(steps ? programAt : 0, ENTRIES + entry * 4 + 2);
        entry++;
        if (!steps) continue;
        if (programAt + 1 + steps.length * 4 > CLASSES) throw new RangeError("too many steps for the finder");
        mem[programAt++] = steps.length;
        for (const step of steps) {
          mem[programAt] = classIndex(step.bytes);
          mem[programAt + 1] = step.min;
          mem[programAt + 2] = step.max;
          mem[programAt + 3] = step.open ? 1 : 0;
          programAt += 4;
        }
      }
    });
    if (bytesAt > ENTRIES || entry > 255) throw new RangeError("too many literals for the finder");
    // Drop specs, one per group, and each entry's.
    const groups = dropGroups(needles, lits);
    let spec = DROPS + 512;
    const specOf = new Map<number, number>();
    for (const [group, { drop, literals }] of groups) {
      specOf.set(group, spec);
      mem[spec] = classIndex(drop.bytes);
      mem[spec + 1] = literals.length;
      mem.writeUInt16LE(drop.max, spec + 2);
      mem[spec + 4] = drop.pair[0];
      mem[spec + 5] = drop.pair[1];
      literals.forEach((id, k) => {
        mem[spec + DROP_LIST + k] = id;
        for (const c of positionBytes(lits[id]!)[0]!) mem[spec + 8 + c]! |= 1 << k;
      });
      spec += DROP_SPEC;
    }
    entry = 0;
    for (const lit of lits)
      for (const n of lit.needles) {
        const at = usableDrop(needles[n]!, groups) ? specOf.get(needles[n]!.drop!.group)! : 0;
        mem.writeUInt16LE(at, DROPS + entry * 2);
        entry++;
      }
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
    for (let at = start; at < end; at += this.block) {
      const n = this.run(HEAP + at, HEAP + Math.min(at + this.block, end), OUT, HEAP + limit);
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
  hits: Uint32Array = new Uint32Array(0);
  /** The needles' literals and drop groups, worked out once (not on every file). */
  private readonly prepared: Prepared;

  constructor(private readonly needles: Needle[]) {
    for (const n of needles) checkNeedle(n);
    this.prepared = prepare(needles);
  }

  arena(bytes: number): Buffer {
    if (this.buf.length < bytes) {
      const bigger = Buffer.alloc(Math.max(bytes, this.buf.length * 2));
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    return this.buf.subarray(0, bytes);
  }

  find(start: number, end: number, limit: number): number {
    const r = findNeedles(this.buf, start, end, limit, this.needles, this.prepared);
    this.hits = r.hits;
    return r.count;
  }
}

/** Whether the text from `at` (ending at `limit`) passes `steps`. */
export function passesSteps(buf: Uint8Array, at: number, limit: number, steps: Step[]): boolean {
  return stepsEnd(buf, at, limit, steps) >= 0;
}

/** Where the last step begins if the text from `at` passes `steps` (or where an open step passes it); else -1. */
export function stepsEnd(buf: Uint8Array, at: number, limit: number, steps: Step[]): number {
  let i = at;
  let last = at;
  for (const step of steps) {
    last = i;
    let n = 0;
    while (n < step.max && i + n < limit && step.bytes[buf[i + n]!] === 1) n++;
    if (n < step.min) return -1;
    if (step.open && n === step.max) return last;
    i += n;
  }
  return last;
}

/** The groups of drops in use: each with its spec (the first needle's) and its literals' ids. */
function dropGroups(needles: Needle[], lits: Literal[]): Map<number, { drop: Drop; literals: number[] }> {
  const byGroup = new Map<number, { drop: Drop; literals: number[] }>();
  lits.forEach((lit, id) => {
    for (const n of lit.needles) {
      const d = needles[n]!.drop;
      if (!d) continue;
      let g = byGroup.get(d.group);
      if (!g) {
        g = { drop: d, literals: [] };
        byGroup.set(d.group, g);
      }
      if (!g.literals.includes(id)) g.literals.push(id);
    }
  });
  // A group where one literal starts another (two hits at one place) is not used, nor groups
  // beyond what the finder's memory holds.
  for (const [group, g] of byGroup)
    if (
      g.literals.length > 8 ||
      g.literals.some((a) => g.literals.some((b) => a !== b && lits[b]!.text.startsWith(lits[a]!.text)))
    )
      byGroup.delete(group);
  return new Map([...byGroup].slice(0, MAX_GROUPS));
}

function usableDrop(n: Needle, groups: Map<number, { drop: Drop; literals: number[] }>): boolean {
  const d = n.drop;
  if (!d || !n.after || n.after.some((s) => s.open) || !groups.has(d.group)) return false;
  const spec = groups.get(d.group)!.drop;
  return (
    spec === d ||
    (spec.bytes === d.bytes && spec.max === d.max && spec.pair[0] === d.pair[0] && spec.pair[1] === d.pair[1])
  );
}

/** Literal `lit` (its first 4 bytes, folded if ignore-case) at buf[x], within `limit`. */
function startsHere(buf: Uint8Array, x: number, limit: number, lit: Literal): boolean {
  const n = Math.min(4, lit.bytes.length);
  if (x + n > limit) return false;
  for (let k = 0; k < n; k++) {
    const c = buf[x + k]!;
    if ((lit.ignoreCase && isLetter(c) ? c | 32 : c) !== lit.bytes[k]) return false;
  }
  return true;
}

/** Whether the hit of needle `n` at `at` (its steps passed) is dropped (see Drop). */
function dropped(
  buf: Uint8Array,
  at: number,
  limit: number,
  n: Needle,
  lits: Literal[],
  groups: Map<number, { drop: Drop; literals: number[] }>,
): boolean {
  if (!usableDrop(n, groups)) return false;
  const d = n.drop!;
  const value = stepsEnd(buf, at + n.text.length, limit, n.after!);
  let q = value;
  while (q < Math.min(value + d.max + 1, limit) && d.bytes[buf[q]!] === 1) q++;
  let end = -1;
  if (q - value > d.max) end = value + d.max + 1;
  else
    for (let k = value; k + 1 < q; k++)
      if (buf[k] === d.pair[0] && buf[k + 1] === d.pair[1]) {
        end = q + 1;
        break;
      }
  if (end < 0) return false;
  const group = groups.get(d.group)!.literals;
  for (let x = at + 1; x < end; x++)
    for (const id of group) if (startsHere(buf, x, limit, lits[id]!)) return false;
  return true;
}

/** What findNeedles works out from the needles alone. */
interface Prepared {
  lits: Literal[];
  groups: ReturnType<typeof dropGroups>;
}

function prepare(needles: Needle[]): Prepared {
  const lits = literalsOf(needles);
  return { lits, groups: dropGroups(needles, lits) };
}

/** Every needle found starting in buf[start, end), ending by `limit` and passing its steps: by position, then index. */
export function findNeedles(
  buf: Buffer,
  start: number,
  end: number,
  limit: number,
  needles: Needle[],
  prepared: Prepared = prepare(needles),
): { hits: Uint32Array; count: number } {
  const text = buf.toString("latin1", start, limit);
  const lower = needles.some((n) => n.ignoreCase) ? text.toLowerCase() : text;
  const { lits, groups } = prepared;
  const found: [number, number][] = [];
  needles.forEach((n, id) => {
    const literal = n.ignoreCase ? n.text.toLowerCase() : n.text;
    const hay = n.ignoreCase ? lower : text;
    for (let i = hay.indexOf(literal); i !== -1 && i < end - start; i = hay.indexOf(literal, i + 1))
      if (
        (!n.after || passesSteps(buf, start + i + literal.length, limit, n.after)) &&
        !dropped(buf, start + i, limit, n, lits, groups)
      )
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

/** A finder for `needles`: WebAssembly where available (`prefer: "js"` forces the fallback, for tests). */
export function literalFinder(needles: Needle[], prefer: "wasm" | "js" = "wasm"): LiteralFinder {
  const module = prefer === "wasm" ? teddy() : null;
  if (module)
    try {
      return new WasmFinder(module, needles);
    } catch (e) {
      // More needles, literals or steps than its memory layout holds: the same search in JavaScript.
      if (!(e instanceof RangeError)) throw e;
    }
  return new JsFinder(needles);
}
