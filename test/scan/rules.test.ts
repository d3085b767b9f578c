import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { detectInText, isGenericRule, type RawFinding } from "../../src/scan/detect.js";
import { shannonEntropy } from "../../src/scan/entropy.js";
import { base62Crc32, RULES, type Rule } from "../../src/scan/rules.js";
import { type Case, loadCorpus, textOf } from "./corpus.js";

/** The source tree (tests run from dist/test/scan). */
const REPO = new URL("../../../", import.meta.url);

const cases: Case[] = loadCorpus();
const ids = RULES.map((r) => r.id);

/** A rule built from pieces, so that this file holds no credential-shaped string either. */
const j = (...parts: string[]): string => parts.join("");

function ruleIdsIn(text: string): Set<string> {
  return new Set(detectInText(text).map((f) => f.ruleId));
}

test("corpus: every rule has a true positive and a look-alike true negative; cases are well formed", () => {
  for (const c of cases) {
    assert.ok(c.expect === "positive" || c.expect === "negative", JSON.stringify(c));
    assert.ok((c.text === undefined) !== (c.parts === undefined), "text or parts");
    assert.ok(c.rule === null || ids.includes(c.rule), `unknown rule ${c.rule}`);
    if (c.expect === "positive") assert.ok(c.rule !== null, "a positive names its rule");
  }
  // The storage convention: no single stored string is a credential (see corpus/README.md).
  for (const c of cases)
    for (const piece of c.parts ?? [])
      assert.deepEqual(detectInText(piece), [], `a stored piece is a whole credential: ${c.note ?? c.rule}`);
  for (const id of ids) {
    assert.ok(
      cases.some((c) => c.rule === id && c.expect === "positive"),
      `${id}: no true positive`,
    );
    assert.ok(
      cases.some((c) => c.rule === id && c.expect === "negative"),
      `${id}: no true negative`,
    );
  }
});

test("corpus: each positive is found by its rule (only), each negative by no rule; precision and recall", () => {
  const stats = new Map(ids.map((id) => [id, { tp: 0, fp: 0, fn: 0 }]));
  const failures: string[] = [];
  for (const c of cases) {
    const found = ruleIdsIn(textOf(c));
    if (c.expect === "positive") {
      const s = stats.get(c.rule!)!;
      if (found.has(c.rule!)) s.tp++;
      else {
        s.fn++;
        failures.push(`missed by ${c.rule}: ${c.note ?? textOf(c).slice(0, 60)}`);
      }
    }
    for (const id of found)
      if (!(c.expect === "positive" && id === c.rule)) {
        stats.get(id)!.fp++;
        failures.push(`false positive of ${id} on a ${c.rule ?? "plain"} ${c.expect}: ${c.note ?? ""}`);
      }
  }
  const ratio = (n: number, d: number): number => (d === 0 ? 1 : n / d);
  const rows = [...stats].map(([id, s]) => ({
    rule: id,
    tp: s.tp,
    fp: s.fp,
    fn: s.fn,
    precision: ratio(s.tp, s.tp + s.fp).toFixed(3),
    recall: ratio(s.tp, s.tp + s.fn).toFixed(3),
  }));
  const sum = (k: "tp" | "fp" | "fn"): number => rows.reduce((a, r) => a + r[k], 0);
  const [tp, fp, fn] = [sum("tp"), sum("fp"), sum("fn")];
  const overall = { precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn) };
  rows.push({
    rule: "OVERALL",
    tp,
    fp,
    fn,
    precision: overall.precision.toFixed(3),
    recall: overall.recall.toFixed(3),
  });
  const negatives = cases.filter((c) => c.expect === "negative").length;
  console.log(`\nscan rules on the labelled corpus: ${cases.length} cases, ${negatives} of them negatives`);
  console.log(
    rows
      .map(
        (r) =>
          `${r.rule.padEnd(24)} tp ${String(r.tp).padStart(3)}  fp ${String(r.fp).padStart(2)}  fn ${String(r.fn).padStart(2)}` +
          `  precision ${r.precision}  recall ${r.recall}`,
      )
      .join("\n"),
  );
  assert.deepEqual(failures, []);
  assert.equal(overall.recall, 1);
  assert.equal(overall.precision, 1);
});

test("every rule finds its own documentation example, and the docs list every rule", () => {
  for (const rule of RULES) {
    const found = detectInText(`${rule.example}\n`).map((f) => f.ruleId);
    assert.deepEqual(found, [rule.id], rule.id);
  }
  const docs = readFileSync(new URL("docs/commands/scan.md", REPO), "utf8");
  for (const id of ids)
    assert.match(docs, new RegExp(`\\| \`${id}\` \\|`), `docs/commands/scan.md lacks ${id}`);
});

test("rules are well formed: unique ids, global patterns, anchors of 3 to 32 latin1 characters, generic rules last", () => {
  assert.equal(new Set(ids).size, ids.length);
  for (const r of RULES) {
    assert.ok(r.pattern.global, r.id);
    assert.ok(r.anchors && r.anchors.length > 0, r.id);
    for (const a of r.anchors) assert.match(a, /^[\x20-\x7e]{3,32}$/, r.id);
    assert.ok(r.title && r.description, r.id);
  }
  const firstGeneric = RULES.findIndex(isGenericRule);
  assert.ok(RULES.slice(firstGeneric).every(isGenericRule));
});

test("entropy: bits per character", () => {
  assert.equal(shannonEntropy(""), 0);
  assert.equal(shannonEntropy("a"), 0);
  assert.equal(shannonEntropy("aaaaaaaa"), 0);
  assert.equal(shannonEntropy("ab"), 1);
  assert.equal(shannonEntropy("abcd"), 2);
  assert.equal(shannonEntropy("aabb"), 1);
  assert.equal(shannonEntropy("0123456789abcdef"), 4);
  assert.equal(shannonEntropy("éèéè"), 1); // beyond ASCII too
  assert.ok(Math.abs(shannonEntropy("aab") - 0.9183) < 1e-4);
});

test("GitHub/npm checksum: CRC32 (standard check value) in base62 0-9A-Za-z, zero-padded to 6", () => {
  // CRC32("123456789") = 0xCBF43926, the standard check value; in base62, 3jZRME.
  assert.equal(base62Crc32("123456789"), "3jZRME");
  assert.equal(base62Crc32("a"), "4GEHKN");
  assert.equal(base62Crc32(""), "000000");
});

/** A test rule: finds TOKEN<digits>, reports the digits. */
const digits: Rule = {
  id: "test-digits",
  title: "t",
  description: "t",
  pattern: /TOKEN(?<secret>\d{4,})/g,
  keywords: ["token"],
  example: "TOKEN1234",
};

test("line and column: 1-based, of the secret group, CRLF and last line without newline", () => {
  const text = "first line\r\n  x = TOKEN1234\r\n\r\nTOKEN5678 and TOKEN999999";
  const f = detectInText(text, [digits]);
  assert.deepEqual(f, [
    { ruleId: "test-digits", line: 2, column: 12, secret: "1234" },
    { ruleId: "test-digits", line: 4, column: 6, secret: "5678" },
    { ruleId: "test-digits", line: 4, column: 20, secret: "999999" },
  ]);
  // Many lines: binary search lands on the right one.
  const many = Array.from({ length: 5000 }, (_, i) =>
    i % 997 === 0 ? `${" ".repeat(i % 7)}TOKEN${i}00` : `l${i}`,
  );
  const found = detectInText(many.join("\n"), [digits]);
  assert.equal(found.length, many.filter((l) => /TOKEN\d{4,}/.test(l)).length);
  for (const x of found)
    assert.equal(many[x.line - 1]!.slice(x.column - 1, x.column - 1 + x.secret.length), x.secret);
  assert.deepEqual(detectInText("", [digits]), []);
});

test("a rule without a secret group reports its whole match; a non-global pattern still finds every match", () => {
  const whole: Rule = { ...digits, id: "whole", pattern: /TOKEN\d{4}/ };
  const f = detectInText("TOKEN1111 TOKEN2222", [whole]);
  assert.deepEqual(
    f.map((x) => [x.column, x.secret]),
    [
      [1, "TOKEN1111"],
      [11, "TOKEN2222"],
    ],
  );
});

test("inline allow: `enclave:allow` on the line, in any comment syntax, drops findings on that line only", () => {
  const ghBody = "trCX6sHEKYG4hjvRms0ZKuW4mHUvyW";
  const token = j("gh", "p_", ghBody, base62Crc32(ghBody));
  const text = [
    `a = "${token}"  // enclave:allow`,
    `b = "${token}"  # enclave:allow (test fixture)`,
    `c = "${token}"  <!-- enclave:allow -->`,
    `d = "${token}"`,
  ].join("\n");
  assert.deepEqual(
    detectInText(text).map((f) => [f.ruleId, f.line]),
    [["github-token", 4]],
  );
  // A multi-line secret can be allowed on the line where it ends.
  const pem = RULES.find((r) => r.id === "private-key")!.example;
  assert.equal(detectInText(pem).length, 1);
  assert.equal(detectInText(`${pem} # enclave:allow`).length, 0);
});

test("keyword prefilter: a rule whose keywords are absent is not run at all (case-insensitive)", () => {
  const explosive = new Proxy(/x/g, {
    get() {
      throw new Error("the pattern was used");
    },
  });
  const rule: Rule = { ...digits, id: "explosive", pattern: explosive, keywords: ["zq_marker"] };
  assert.deepEqual(detectInText("nothing to see here\nTOKEN1234", [rule, digits]).length, 1);
  assert.throws(() => detectInText("here: ZQ_MARKER", [rule]), /the pattern was used/);
  // A keyword found only inside a longer keyword's occurrence still counts.
  const short: Rule = { ...digits, id: "short", pattern: /(?<secret>TOKEN)\d/g, keywords: ["tok"] };
  const long: Rule = { ...digits, id: "long", keywords: ["token"] };
  assert.deepEqual(
    detectInText("TOKEN1234", [long, short])
      .map((f) => f.ruleId)
      .sort(),
    ["long", "short"],
  );
});

test("de-duplication: one secret found by two rules is reported once, by the specific rule", () => {
  // Same secret, same place, two specific rules: the first listed.
  const twin: Rule = { ...digits, id: "twin" };
  assert.deepEqual(
    detectInText("TOKEN1234", [digits, twin]).map((f) => f.ruleId),
    ["test-digits"],
  );
  // A generic rule yields to a specific one whatever the order.
  const generic: Rule = { ...digits, id: "generic-test" };
  assert.deepEqual(
    detectInText("TOKEN1234", [generic, digits]).map((f) => f.ruleId),
    ["test-digits"],
  );
  // The real rules: a GitHub token assigned to api_key, and pushed in a URL, is a github-token finding only.
  const ghBody = "Qm3Zb7Kx1Lp9Vt2Wn8Yr4Hs6Jd0Fc5";
  const token = j("gh", "p_", ghBody, base62Crc32(ghBody));
  const found = (t: string): [string, number][] =>
    detectInText(t).map((f: RawFinding) => [f.ruleId, f.column]);
  assert.deepEqual(found(`api_key = "${token}"`), [["github-token", 12]]);
  assert.deepEqual(found(`https://x:${token}@github.com`), [["github-token", 11]]);
  // A generic finding inside a long specific one (a private key block) is dropped, even past a
  // shorter specific finding that ends before it; one after the block is kept.
  const pem = RULES.find((r) => r.id === "private-key")!.example;
  const akia = RULES.find((r) => r.id === "aws-access-key-id")!.example;
  const lines = pem.split("\n");
  const inside = [lines[0], `id ${akia}`, 'api_key = "Zx8Kq2Lm9Np3Rt7VwYb5Cd6E"', ...lines.slice(1)].join(
    "\n",
  );
  assert.deepEqual(
    detectInText(`${inside}\nsecret_key = "Qw3Er5Ty7Ui9Op1As2Df4Gh6J"\n`).map((f) => [f.ruleId, f.line]),
    [
      ["private-key", 1],
      ["aws-access-key-id", 2],
      ["generic-secret", lines.length + 3],
    ],
  );
});
