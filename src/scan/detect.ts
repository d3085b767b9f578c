/**
 * The detector: runs the pattern rules over one text and reports where each credential is.
 *
 * - A rule runs only when one of its keywords occurs in the text (case-insensitive); a rule with
 *   no keywords always runs. Most rules never run on ordinary source text.
 * - Positions are 1-based; columns count UTF-16 code units (SARIF's default column kind). The
 *   position is that of the rule's "secret" group, or of the whole match without one.
 * - A finding is dropped when the line it starts on (or, for a multi-line secret such as a private
 *   key block, the line it ends on) contains `enclave:allow`, in any comment syntax.
 * - A generic rule (id starting with "generic") never reports a secret that overlaps one reported by
 *   a specific rule; two specific rules reporting the same secret at the same place are reported once,
 *   by the one listed first.
 */
import { RULES, type Rule } from "./rules.js";

export interface RawFinding {
  ruleId: string;
  /** 1-based */
  line: number;
  /** 1-based, in UTF-16 code units */
  column: number;
  secret: string;
  /** the whole line the secret starts on, without its line terminator */
  lineText: string;
}

export const ALLOW_MARKER = "enclave:allow";

/** A generic rule yields to any specific rule that reports an overlapping secret. */
export function isGenericRule(rule: Pick<Rule, "id">): boolean {
  return rule.id.startsWith("generic");
}

/**
 * Each rule's pattern, recompiled once as global + hasIndices (for the "secret" group's offset) and
 * private to the detector, so that no lastIndex is shared with other users of the rule.
 */
const compiled = new WeakMap<RegExp, RegExp>();

function regexOf(pattern: RegExp): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    let flags = pattern.flags;
    if (!flags.includes("g")) flags += "g";
    if (flags.includes("y")) flags = flags.replace("y", "");
    if (!flags.includes("d") && pattern.source.includes("(?<secret>")) flags += "d";
    re = new RegExp(pattern.source, flags);
    compiled.set(pattern, re);
  }
  re.lastIndex = 0;
  return re;
}

/**
 * The keyword prefilter, built once per rules array: every distinct keyword in one alternation,
 * longest first, run over the lowercased text in a single pass. Each keyword found also marks the
 * shorter keywords it contains (an alternation reports one keyword per position), and the pass ends
 * as soon as every keyword has been seen. One pass is several times cheaper than one `includes` per
 * keyword, most of which scan the whole text to find nothing.
 */
interface Prefilter {
  rules: Rule[];
  /** each rule's keywords array as it was when this was built */
  sources: string[][];
  /** per rule: its distinct lowercase keywords (empty: always run) */
  keywords: string[][];
  all: RegExp | undefined;
  /** keyword -> itself and every other keyword it contains */
  implies: Map<string, string[]>;
  count: number;
}

const prefilters = new WeakMap<Rule[], Prefilter>();

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function prefilterOf(rules: Rule[]): Prefilter {
  const cached = prefilters.get(rules);
  if (
    cached &&
    cached.rules.length === rules.length &&
    cached.rules.every((r, i) => r === rules[i] && r.keywords === cached.sources[i])
  )
    return cached;
  const keywords = rules.map((r) => [...new Set(r.keywords.map((k) => k.toLowerCase()).filter((k) => k))]);
  const distinct = [...new Set(keywords.flat())].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
  const implies = new Map(distinct.map((k) => [k, distinct.filter((other) => k.includes(other))]));
  const all = distinct.length > 0 ? new RegExp(distinct.map(escapeRegExp).join("|"), "g") : undefined;
  const built: Prefilter = {
    rules: [...rules],
    sources: rules.map((r) => r.keywords),
    keywords,
    all,
    implies,
    count: distinct.length,
  };
  prefilters.set(rules, built);
  return built;
}

/** The keywords (lowercase) that occur in `text`, case-insensitively. */
function keywordsIn(text: string, p: Prefilter): Set<string> {
  const seen = new Set<string>();
  if (!p.all) return seen;
  const lower = text.toLowerCase();
  const re = p.all;
  re.lastIndex = 0;
  for (let m = re.exec(lower); m !== null; m = re.exec(lower)) {
    if (!seen.has(m[0])) {
      for (const k of p.implies.get(m[0])!) seen.add(k);
      if (seen.size === p.count) break;
    }
    re.lastIndex = m.index + 1;
  }
  return seen;
}

/** Offsets at which each line starts, computed on the first finding only. */
class Lines {
  private starts: number[] | undefined;
  constructor(private readonly text: string) {}

  private get all(): number[] {
    if (!this.starts) {
      const s = [0];
      const t = this.text;
      for (let i = t.indexOf("\n"); i !== -1; i = t.indexOf("\n", i + 1)) s.push(i + 1);
      this.starts = s;
    }
    return this.starts;
  }

  /** 0-based index of the line holding `offset`. */
  indexOf(offset: number): number {
    const s = this.all;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  start(index: number): number {
    return this.all[index]!;
  }

  textOf(index: number): string {
    const s = this.all;
    const start = s[index]!;
    let end = index + 1 < s.length ? s[index + 1]! - 1 : this.text.length;
    if (end > start && this.text.charCodeAt(end - 1) === 13) end--;
    return this.text.slice(start, end);
  }
}

interface Candidate {
  rule: Rule;
  order: number;
  generic: boolean;
  start: number;
  end: number;
  secret: string;
}

export function detectInText(text: string, rules: Rule[] = RULES): RawFinding[] {
  if (text.length === 0) return [];
  const prefilter = prefilterOf(rules);
  const present = keywordsIn(text, prefilter);
  const candidates: Candidate[] = [];
  for (let order = 0; order < rules.length; order++) {
    const rule = rules[order]!;
    const keywords = prefilter.keywords[order]!;
    if (keywords.length > 0 && !keywords.some((k) => present.has(k))) continue;
    const re = regexOf(rule.pattern);
    const generic = isGenericRule(rule);
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
      if (rule.validate && !rule.validate(secret)) continue;
      candidates.push({ rule, order, generic, start, end: start + secret.length, secret });
    }
  }
  if (candidates.length === 0) return [];
  return finish(text, dedupe(candidates));
}

function dedupe(candidates: Candidate[]): Candidate[] {
  candidates.sort((a, b) => a.start - b.start || Number(a.generic) - Number(b.generic) || a.order - b.order);
  const specific = candidates.filter((c) => !c.generic);
  const kept: Candidate[] = [];
  let previous: Candidate | undefined;
  for (const c of candidates) {
    // Same secret at the same place from two rules: the first in sort order (specific, then listed first).
    if (previous && previous.start === c.start && previous.secret === c.secret) continue;
    if (c.generic && overlapsAny(c, specific)) continue;
    kept.push(c);
    previous = c;
  }
  return kept;
}

/** `sorted` is ordered by start; few specific findings per text, so a scan is fine. */
function overlapsAny(c: Candidate, sorted: Candidate[]): boolean {
  for (const s of sorted) {
    if (s.start >= c.end) break;
    if (s.end > c.start) return true;
  }
  return false;
}

function finish(text: string, kept: Candidate[]): RawFinding[] {
  const lines = new Lines(text);
  const out: RawFinding[] = [];
  for (const c of kept) {
    const index = lines.indexOf(c.start);
    const lineText = lines.textOf(index);
    if (lineText.includes(ALLOW_MARKER)) continue;
    const endIndex = lines.indexOf(c.end - 1);
    if (endIndex !== index && lines.textOf(endIndex).includes(ALLOW_MARKER)) continue;
    out.push({
      ruleId: c.rule.id,
      line: index + 1,
      column: c.start - lines.start(index) + 1,
      secret: c.secret,
      lineText,
    });
  }
  return out;
}
