/**
 * The detector: runs the pattern rules over one text and reports where each credential is.
 *
 * - A rule with anchors (all of the built-in ones) runs only where one of them occurs: one pass of
 *   the literal finder (teddy.ts) lists every anchor of every rule, each rule's guard rules out most
 *   of those places on the bytes, and only then does its regex run, sticky, at the anchor. The
 *   matches are exactly those of the regex run globally over the whole text (the anchors and guards
 *   are promises about the patterns, checked by test/scan/engine.test.ts).
 * - A rule without anchors runs over the whole text, and only when one of its keywords occurs in
 *   it (case-insensitive); with neither, it always runs.
 * - Positions are 1-based; columns count UTF-16 code units (SARIF's default column kind). The
 *   position is that of the rule's "secret" group, or of the whole match without one.
 * - A finding is dropped when the line it starts on (or, for a multi-line secret such as a private
 *   key block, the line it ends on) contains `enclave:allow`, in any comment syntax.
 * - A generic rule (id starting with "generic") never reports a secret that overlaps one reported by
 *   a specific rule; two specific rules reporting the same secret at the same place are reported once,
 *   by the one listed first.
 */
import { lineIndex, lineStarts } from "./lines.js";
import { type Guard, RULES, type Rule } from "./rules.js";
import { type Drop, type LiteralFinder, literalFinder, type Needle } from "./teddy.js";

export interface RawFinding {
  ruleId: string;
  /** 1-based */
  line: number;
  /** 1-based, in UTF-16 code units */
  column: number;
  secret: string;
}

export const ALLOW_MARKER = "enclave:allow";

/** A generic rule yields to any specific rule that reports an overlapping secret. */
export function isGenericRule(rule: Pick<Rule, "id">): boolean {
  return rule.id.startsWith("generic");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** `pattern` recompiled with `add` flags and without g, y and d, so no lastIndex is shared with its other users. */
function recompile(pattern: RegExp, add: string): RegExp {
  return new RegExp(pattern.source, pattern.flags.replace(/[gyd]/g, "") + add);
}

const hasSecretGroup = (pattern: RegExp): boolean => pattern.source.includes("(?<secret>");

/** An anchor the literal finder can take (3 to 32 latin1 characters); a rule with others runs unanchored. */
const usableAnchor = (a: string): boolean =>
  a.length >= 3 && a.length <= 32 && Array.from(a).every((c) => c.charCodeAt(0) <= 0xff);
const LF = 10;

/**
 * b[start, end) as a string, one character per byte: Buffer's own latin1Slice, without the
 * argument handling of toString (it runs for every candidate).
 */
const latin1 = (b: Buffer, start: number, end: number): string =>
  (b as Buffer & { latin1Slice(start: number, end: number): string }).latin1Slice(start, end);

interface Candidate {
  rule: Rule;
  order: number;
  generic: boolean;
  start: number;
  end: number;
  secret: string;
}

/** A rule run at its anchors. */
interface Anchored {
  rule: Rule;
  order: number;
  generic: boolean;
  /** sticky: does it match here, and what is the secret */
  probe: RegExp;
  /** sticky with indices: where the secret is (only for accepted matches) */
  locate: RegExp | undefined;
  guard: Guard | undefined;
  dismiss: Rule["dismiss"];
  span: Rule["span"];
  /** per text: where the last match ended, and the last anchor tried */
  lastEnd: number;
  lastAt: number;
}

/** A rule run over the whole text, when one of its keywords is in it. */
interface Unanchored {
  rule: Rule;
  order: number;
  generic: boolean;
  /** compiled on first use: a rule whose keywords never occur never touches its pattern */
  global: RegExp | undefined;
  keywords: string[];
}

/** Candidates of `rule` found by `re` (global) over all of `text`. */
function globalMatches(
  text: string,
  re: RegExp,
  c: Omit<Candidate, "start" | "end" | "secret">,
): Candidate[] {
  const out: Candidate[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const group = m.groups?.secret;
    const span = group !== undefined ? m.indices?.groups?.secret : undefined;
    const secret = group ?? m[0];
    const start = span ? span[0] : m.index;
    if (secret.length === 0) continue;
    if (c.rule.validate && !c.rule.validate(secret)) continue;
    out.push({ ...c, start, end: start + secret.length, secret });
  }
  return out;
}

/** Everything compiled for one rules array. */
class Engine {
  readonly sources: { rule: Rule; anchors: unknown; keywords: unknown; pattern: RegExp }[];
  private readonly anchored: Anchored[] = [];
  private readonly unanchored: Unanchored[] = [];
  /** The keyword prefilter of the unanchored rules: every distinct keyword, longest first, in one alternation. */
  private readonly keywordRe: RegExp | undefined;
  /** keyword -> itself and every other keyword it contains (an alternation reports one per position) */
  private readonly implies: Map<string, string[]>;
  private readonly keywordCount: number;
  /** per (rule, anchor): what the literal finder looks for */
  readonly needles: Needle[] = [];
  /** per needle: its rule */
  private readonly needleRule: Anchored[] = [];
  private finderInstance: LiteralFinder | undefined;

  constructor(readonly rules: Rule[]) {
    this.sources = rules.map((r) => ({
      rule: r,
      anchors: r.anchors,
      keywords: r.keywords,
      pattern: r.pattern,
    }));
    rules.forEach((rule, order) => {
      const generic = isGenericRule(rule);
      if (rule.anchors && rule.anchors.length > 0 && rule.anchors.every(usableAnchor)) {
        const sticky = recompile(rule.pattern, "y");
        const a: Anchored = {
          rule,
          order,
          generic,
          probe: sticky,
          locate: hasSecretGroup(rule.pattern) ? recompile(rule.pattern, "yd") : undefined,
          guard: rule.guard,
          dismiss: rule.dismiss,
          span: rule.span,
          lastEnd: 0,
          lastAt: -1,
        };
        this.anchored.push(a);
        const ignoreCase = sticky.ignoreCase;
        const dv = rule.dismiss && rule.after ? rule.dismissValue : undefined;
        const drop: Drop | undefined =
          dv && dv.pair.length === 2
            ? {
                bytes: dv.bytes,
                max: dv.max,
                pair: [dv.pair.charCodeAt(0), dv.pair.charCodeAt(1)],
                group: order,
              }
            : undefined;
        for (const anchor of new Set(rule.anchors.map((x) => (ignoreCase ? x.toLowerCase() : x)))) {
          this.needles.push({
            text: anchor,
            ignoreCase,
            ...(rule.after ? { after: rule.after } : {}),
            ...(drop ? { drop } : {}),
          });
          this.needleRule.push(a);
        }
      } else {
        this.unanchored.push({
          rule,
          order,
          generic,
          global: undefined,
          keywords: [...new Set((rule.keywords ?? []).map((k) => k.toLowerCase()).filter((k) => k))],
        });
      }
    });
    const distinct = [...new Set(this.unanchored.flatMap((u) => u.keywords))].sort(
      (a, b) => b.length - a.length || (a < b ? -1 : 1),
    );
    this.implies = new Map(distinct.map((k) => [k, distinct.filter((other) => k.includes(other))]));
    this.keywordRe = distinct.length > 0 ? new RegExp(distinct.map(escapeRegExp).join("|"), "g") : undefined;
    this.keywordCount = distinct.length;
  }

  /** Still compiled from these rules (and their anchors, keywords and patterns, unreplaced)? */
  matches(rules: Rule[]): boolean {
    return (
      rules.length === this.sources.length &&
      rules.every((r, i) => {
        const s = this.sources[i]!;
        return (
          r === s.rule && r.anchors === s.anchors && r.keywords === s.keywords && r.pattern === s.pattern
        );
      })
    );
  }

  get finder(): LiteralFinder {
    this.finderInstance ??= literalFinder(this.needles);
    return this.finderInstance;
  }

  /** Whether hits[from, count) has an anchor of rule `a` before position `end`. */
  private laterAnchor(a: Anchored, hits: Uint32Array, from: number, count: number, end: number): boolean {
    for (let k = from; k < count && hits[2 * k]! < end; k++)
      if (this.needleRule[hits[2 * k + 1]!] === a) return true;
    return false;
  }

  /** The keywords (lowercase) that occur in `text`, case-insensitively. */
  private keywordsIn(text: string): Set<string> {
    const seen = new Set<string>();
    const re = this.keywordRe;
    if (!re) return seen;
    const lower = text.toLowerCase();
    re.lastIndex = 0;
    for (let m = re.exec(lower); m !== null; m = re.exec(lower)) {
      if (!seen.has(m[0])) {
        for (const k of this.implies.get(m[0])!) seen.add(k);
        if (seen.size === this.keywordCount) break;
      }
      re.lastIndex = m.index + 1;
    }
    return seen;
  }

  private unanchoredCandidates(text: string, out: Candidate[]): void {
    if (this.unanchored.length === 0) return;
    const present = this.keywordsIn(text);
    for (const u of this.unanchored) {
      if (u.keywords.length > 0 && !u.keywords.some((k) => present.has(k))) continue;
      u.global ??= recompile(u.rule.pattern, hasSecretGroup(u.rule.pattern) ? "gd" : "g");
      out.push(...globalMatches(text, u.global, u));
    }
  }

  /**
   * Findings in b[lo, hi), b being the finder's arena; `text` is that range as latin1 if the caller
   * has it already (it is decoded only if some regex has to run).
   */
  detect(b: Buffer, lo: number, hi: number, text?: string): RawFinding[] {
    if (hi <= lo) return [];
    const candidates: Candidate[] = [];
    if (this.anchored.length > 0) {
      const count = this.finder.find(lo, hi, hi);
      const hits = this.finder.hits;
      for (const a of this.anchored) {
        a.lastEnd = lo;
        a.lastAt = -1;
      }
      for (let k = 0; k < count; k++) {
        const at = hits[2 * k]!;
        const id = hits[2 * k + 1]!;
        const a = this.needleRule[id]!;
        // As a global regex would: no match starts inside the previous one; each place tried once.
        if (at < a.lastEnd || at === a.lastAt) continue;
        a.lastAt = at;
        const after = at + this.needles[id]!.text.length;
        if (a.guard && !a.guard(b, at, after, lo, hi)) continue;
        if (a.dismiss) {
          const end = a.dismiss(b, at, after, lo, hi);
          // Nothing here would be reported; skip the regex if no other anchor of the rule comes
          // before `end` (a match here would have hidden it, and nothing tells whether one exists).
          if (end >= 0 && !this.laterAnchor(a, hits, k + 1, count, end)) continue;
        }
        // The regex runs on `view`, the text from `base`: the span around the anchor when the
        // rule has one and the whole text is not decoded yet, else the whole text.
        let view: string;
        let base = lo;
        const span = text === undefined ? a.span : undefined;
        if (span === "line") {
          base = Math.max(lo, b.lastIndexOf(LF, at) + 1);
          const eol = b.indexOf(LF, at);
          view = latin1(b, base, eol < 0 || eol > hi ? hi : eol);
        } else if (span) {
          base = Math.max(lo, at - span.before);
          view = latin1(b, base, Math.min(hi, at + span.after));
        } else {
          text ??= latin1(b, lo, hi);
          view = text;
        }
        const re = a.probe;
        re.lastIndex = at - base;
        const m = re.exec(view);
        if (m === null || m[0].length === 0) continue;
        a.lastEnd = base + m.index + m[0].length;
        const group = m.groups?.secret;
        const secret = group ?? m[0];
        if (secret.length === 0) continue;
        if (a.rule.validate && !a.rule.validate(secret)) continue;
        let start = m.index;
        if (group !== undefined && a.locate) {
          a.locate.lastIndex = at - base;
          start = a.locate.exec(view)?.indices?.groups?.secret?.[0] ?? m.index;
        }
        start += base - lo;
        candidates.push({
          rule: a.rule,
          order: a.order,
          generic: a.generic,
          start,
          end: start + secret.length,
          secret,
        });
      }
    }
    if (this.unanchored.length > 0) {
      const t = text ?? latin1(b, lo, hi);
      text = t;
      this.unanchoredCandidates(t, candidates);
    }
    if (candidates.length === 0) return [];
    return finish(text ?? latin1(b, lo, hi), dedupe(candidates));
  }

  /**
   * The reference: every rule's regex globally over the whole text, anchors and guards unused (the
   * keyword prefilter of unanchored rules still applies). For text beyond latin1, and for the tests.
   */
  detectReference(text: string): RawFinding[] {
    if (text.length === 0) return [];
    const candidates: Candidate[] = [];
    for (const a of this.anchored)
      candidates.push(...globalMatches(text, recompile(a.rule.pattern, a.locate ? "gd" : "g"), a));
    this.unanchoredCandidates(text, candidates);
    if (candidates.length === 0) return [];
    return finish(text, dedupe(candidates));
  }
}

const engines = new WeakMap<Rule[], Engine>();

function engineFor(rules: Rule[]): Engine {
  const cached = engines.get(rules);
  if (cached?.matches(rules)) return cached;
  const built = new Engine(rules);
  engines.set(rules, built);
  return built;
}

/** A character the literal finder cannot see as one byte. */
function beyondLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return true;
  return false;
}

/** Findings in `text` (a file decoded as latin1, or any string). */
export function detectInText(text: string, rules: Rule[] = RULES): RawFinding[] {
  if (text.length === 0) return [];
  const engine = engineFor(rules);
  // The finder reads bytes: text with characters beyond U+00FF takes the plain path.
  if (beyondLatin1(text)) return engine.detectReference(text);
  const b = engine.finder.arena(text.length);
  b.write(text, 0, "latin1");
  return engine.detect(b, 0, text.length, text);
}

/** The same findings as detectInText, computed without anchors or guards (for the tests). */
export function detectInTextReference(text: string, rules: Rule[] = RULES): RawFinding[] {
  return engineFor(rules).detectReference(text);
}

/**
 * Detection over bytes, for the scanner: read a file straight into `buffer(n)`, then `detect(n)`;
 * or hand any Buffer to `detectIn`. Findings are those of detectInText on the bytes read as latin1.
 */
export class Detector {
  private readonly engine: Engine;
  private arena: Buffer | undefined;

  constructor(rules: Rule[] = RULES) {
    this.engine = engineFor(rules);
  }

  /**
   * Where to put `n` bytes of text; valid until the next call, and it starts with the bytes of the
   * last one. Detectors (and detectInText) for one rules array share this buffer: use it and
   * detect before another of them runs.
   */
  buffer(n: number): Buffer {
    this.arena = this.engine.finder.arena(n);
    return this.arena;
  }

  /** Findings in the first `n` bytes of the last `buffer()`. */
  detect(n: number): RawFinding[] {
    return this.engine.detect(this.arena!, 0, n);
  }

  detectIn(content: Buffer): RawFinding[] {
    const b = this.buffer(content.length);
    content.copy(b);
    return this.detect(content.length);
  }

  /** What the literal finder looks for, per anchor of each anchored rule. */
  get needles(): Needle[] {
    return this.engine.needles;
  }

  get finderKind(): "wasm" | "js" {
    return this.engine.finder.kind;
  }
}

function dedupe(candidates: Candidate[]): Candidate[] {
  candidates.sort((a, b) => a.start - b.start || Number(a.generic) - Number(b.generic) || a.order - b.order);
  const specific = new Specific(candidates.filter((c) => !c.generic));
  const kept: Candidate[] = [];
  let previous: Candidate | undefined;
  for (const c of candidates) {
    // Same secret at the same place from two rules: the first in sort order (specific, then listed first).
    if (previous && previous.start === c.start && previous.secret === c.secret) continue;
    if (c.generic && specific.overlaps(c)) continue;
    kept.push(c);
    previous = c;
  }
  return kept;
}

/** The specific candidates, ordered by start: does one overlap a given span? In log time. */
class Specific {
  /** maxEnd[k]: the furthest end among sorted[0..k] */
  private readonly maxEnd: number[] = [];

  constructor(private readonly sorted: Candidate[]) {
    let max = -1;
    for (const s of sorted) {
      max = Math.max(max, s.end);
      this.maxEnd.push(max);
    }
  }

  overlaps(c: Candidate): boolean {
    // Those starting before c ends overlap it if one of them ends after c starts.
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]!.start < c.end) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && this.maxEnd[lo - 1]! > c.start;
  }
}

/** The findings of the kept candidates: their lines and columns, less those on allowed lines. */
function finish(text: string, kept: Candidate[]): RawFinding[] {
  const starts = lineStarts(text);
  const out: RawFinding[] = [];
  // Many findings can share one long line (minified code): look for the marker once per line.
  const allowed = new Map<number, boolean>();
  const allows = (index: number): boolean => {
    let a = allowed.get(index);
    if (a === undefined) {
      const end = index + 1 < starts.length ? starts[index + 1]! : text.length;
      a = text.slice(starts[index]!, end).includes(ALLOW_MARKER);
      allowed.set(index, a);
    }
    return a;
  };
  for (const c of kept) {
    const index = lineIndex(starts, c.start);
    if (allows(index)) continue;
    const endIndex = lineIndex(starts, c.end - 1);
    if (endIndex !== index && allows(endIndex)) continue;
    out.push({
      ruleId: c.rule.id,
      line: index + 1,
      column: c.start - starts[index]! + 1,
      secret: c.secret,
    });
  }
  return out;
}
