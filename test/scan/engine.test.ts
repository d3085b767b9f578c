/**
 * The fast detector against the plain one. detectInText runs each rule's regex only at its anchors
 * (found by the WebAssembly literal finder) and only where its guard lets it; detectInTextReference
 * runs every regex globally over the whole text. They must agree everywhere: on the corpus, on
 * variants of it (case, spacing, line endings, prefixes, neighbours), on random text dense with the
 * characters the patterns care about — and with `validate` switched off, so that every raw match
 * counts, not only the few that pass as credentials.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Detector, detectInText, detectInTextReference } from "../../src/scan/detect.js";
import { RULES, type Rule } from "../../src/scan/rules.js";
import {
  buckets,
  bucketsKey,
  contextFilter,
  findNeedles,
  literalFinder,
  literalsOf,
  type Needle,
  passesSteps,
  type Step,
  teddyModule,
} from "../../src/scan/teddy.js";
import { TEDDY_BUCKETS, TEDDY_WASM } from "../../src/scan/teddy-module.js";
import { loadCorpus, textOf } from "./corpus.js";

const corpus = loadCorpus().map(textOf);

/** The rules with every candidate accepted: raw matches decide (and `dismiss`, which relies on validate, goes too). */
const UNVALIDATED: Rule[] = RULES.map(({ validate: _validate, dismiss: _dismiss, ...r }) => r);

/** mulberry32: the same sequence on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function variants(text: string, random: () => number): string[] {
  const flip = (s: string) =>
    Array.from(s, (c) => (random() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join("");
  const spaced = (s: string) =>
    s.replace(
      /\s*([:=]+)\s*/g,
      (_m, op: string) =>
        `${" ".repeat(Math.floor(random() * 7))}${op}${"\t".repeat(Math.floor(random() * 3))}`,
    );
  return [
    text,
    text.toUpperCase(),
    text.toLowerCase(),
    text.replace(/(key|secret|token|passw\w*|pwd|aws)/gi, flip),
    spaced(text),
    text.replace(/\n/g, "\r\n"),
    text.replace(/\n/g, "\r"),
    `export ${text}`,
    `- ${text}`,
    `  EXPORT\t${text}`,
    `x${text}`,
    `${text}${text}`,
    text.replace(/"/g, "'"),
    text.replace(/"/g, "`"),
    text.replace(/=/g, " := "),
    text.replace(/=/g, " => "),
    text.replace(/:/g, "\u00a0:\u00a0"),
    text.slice(1),
    text.slice(0, -1),
  ];
}

const detectors = new Map<Rule[], Detector>();

/** The reference, detectInText (given the text as a string) and a Detector (given its bytes) agree. */
function same(rules: Rule[], text: string, what: string): void {
  const reference = detectInTextReference(text, rules);
  assert.deepEqual(detectInText(text, rules), reference, what);
  let d = detectors.get(rules);
  if (!d) {
    d = new Detector(rules);
    detectors.set(rules, d);
  }
  assert.deepEqual(d.detectIn(Buffer.from(text, "latin1")), reference, `${what} (bytes)`);
}

test("corpus and its variants: the anchored detector finds exactly what the plain one does", () => {
  const random = rng(7);
  for (const [i, text] of corpus.entries())
    for (const [k, v] of variants(text, random).entries()) {
      same(RULES, v, `case ${i}, variant ${k}`);
      same(UNVALIDATED, v, `case ${i}, variant ${k}, unvalidated`);
    }
  // All of it in one text: matches next to and inside each other's neighbourhoods.
  const all = corpus.flatMap((t) => variants(t, random)).join("\n");
  same(RULES, all, "everything at once");
  same(UNVALIDATED, all, "everything at once, unvalidated");
});

test("random text dense in anchors, operators, quotes and separators: the same raw matches", () => {
  const random = rng(11);
  const pieces = [
    ...["key", "KEY", "Secret", "token", "passw", "password", "pwd", "aws", "PWD", "Passwd"],
    ...["AKIA", "ASIA", "A3T", "ghp_", "github_pat_", "glpat-", "GR1348941", "xoxb-", "xapp-1-"],
    ...["hooks.slack.com/services/T", "sk_live_", "rk_test_", "AIza", "sk-proj-", "sk-ant-api03-"],
    ...["npm_", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "eyJ", "://", "@"],
    ...["=", ":", ":=", "=>", "==", " ", "\t", "\n", "\r\n", '"', "'", "`", "\\", "_", "-", ".", "/", "+"],
    ...["export ", "- ", "#", ["$", "{X}"].join(""), "user", "db.internal", "example.com", "public_", "next"],
  ];
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let n = 0; n < 1500; n++) {
    let text = "";
    while (text.length < 400) {
      if (random() < 0.55) text += pieces[Math.floor(random() * pieces.length)];
      else {
        const len = Math.floor(random() * 45);
        for (let i = 0; i < len; i++) text += alphabet[Math.floor(random() * alphabet.length)];
      }
    }
    same(UNVALIDATED, text, `random text ${n}: ${JSON.stringify(text)}`);
  }
});

/** Text shaped like the patterns, with every count at, just below and just above its bound. */
function nearBounds(random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const around = (n: number) =>
    pick([0, 1, n - 1, n, n + 1, Math.floor(random() * (n + 2))].filter((x) => x >= 0));
  const run = (chars: string, n: number) => Array.from({ length: n }, () => pick([...chars])).join("");
  const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const caseMix = (s: string) => Array.from(s, (c) => (random() < 0.3 ? c.toUpperCase() : c)).join("");
  const space = () => run(" \t\u00a0\n", around(5));
  const op = () => pick([":=", "=>", ":", "=", "==", "===", "=:", "=>=", ":>"]);
  const quote = () => pick(['"', "'", "`", ""]);
  const linePrefix = () =>
    pick(["", "  ", "\t", "- ", "-\t", "-", "export ", "EXPORT\t", "- export  ", "x ", "exportx "]);
  const keyword = () => caseMix(pick(["key", "secret", "token", "passwd", "password", "pwd", "aws"]));
  const suffix = () =>
    pick(["", "s", "_key", "-secret", ".token", "value", "_base64", "string", "12", "_x", "_BASE64X"]);
  const shapes = [
    // the longest generic-secret: the longest name, every space, the longest operator and value
    () => `passwORD_base64"${space()}===${space()}'${run(b64, around(256))}'`,
    // generic-secret and aws-secret-access-key: name, assignment, quoted value
    () => {
      const q = quote();
      const name = random() < 0.5 ? `${suffix()}${run("abc_.-", around(10))}` : run("abc_.-", around(30));
      return `${keyword()}${name}${quote()}${space()}${op()}${space()}${q}${run(pick([b64, `${b64}=:_-`]), pick([around(16), around(40), around(256)]))}${pick([q, '"', ""])}`;
    },
    // generic-env-secret: a NAME=value line
    () =>
      `\n${linePrefix()}${run("AB_.", around(4))}${keyword()}${suffix()}${run(" \t", around(2))}=${run(" \t", around(2))}${run(`${b64}=:_-`, around(16))}${pick(["", " # c", "\r", " $", "\t"])}\n`,
    // url-password
    () =>
      `${pick(["x", "9", " ", ""])}://${run("ab%.-", around(128))}:${run("pw9!$", pick([around(1), around(256)]))}@${pick(["db", "[::1]", "example.com", "a.example.com.", "invalid", ".x", ""])}`,
    // openai-api-key: a kind and 40 to 250 characters, or the legacy T3BlbkFJ form
    () =>
      `${pick(["", "x", "-"])}sk-${pick(["proj-", "svcacct-", "admin-", "None-", "", "projx-", "Proj-"])}${run("aZ09_-", pick([around(40), around(250)]))}${pick(["", "-", "."])}`,
    () => `sk-${run("aZ09", around(20))}T3BlbkFJ${run("aZ09", around(20))}${pick(["", "_", " "])}`,
    // jwt: three base64url parts of at least 6, 2 and 16 characters
    () =>
      `${pick(["", "a", " "])}eyJ${run("aZ0_-", around(6))}${pick([".", ""])}${run("aZ0_-", around(2))}.${run("aZ0_-", around(16))}${pick(["", ".", "=", "-"])}`,
    // generic-env-secret lines broken by a lone \r, with another assignment after it
    () =>
      `\n${keyword()}=${run(b64, around(16))}${pick([" # c\r", "\r", "\r\n"])}X_${keyword()}=${run(b64, around(16))}\n`,
    // private-key blocks, with and without the space and the END line
    () =>
      `-----BEGIN${pick(["", " ", " RSA ", " OPENSSH "])}PRIVATE KEY${pick(["", " BLOCK"])}-----\n${run(b64, around(64))}\n-----END${pick(["", " ", " RSA "])}PRIVATE KEY-----`,
  ];
  let text = "";
  const parts = 1 + Math.floor(random() * 4);
  for (let i = 0; i < parts; i++) text += pick(["", "\n", " ", "x", "\r\n"]) + pick(shapes)();
  return text;
}

test("text at the patterns' bounds (spaces, name lengths, value lengths, line prefixes): the same raw matches", () => {
  const random = rng(13);
  for (let n = 0; n < 20000; n++) {
    const text = nearBounds(random);
    same(UNVALIDATED, text, `bounds ${n}: ${JSON.stringify(text)}`);
  }
});

test("templates (skipped without running the regex) next to real values: the same findings", () => {
  const random = rng(19);
  const real = (n: number) =>
    Array.from(
      { length: n },
      () => "ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"[Math.floor(random() * 56)],
    ).join("");
  const tpl = ["$", "{"].join("");
  const texts = [
    `const apiKey = \`${tpl}prefix}${real(20)}\`;\nconst secretToken = "${real(24)}";`,
    `secret_key = '${tpl}a}${real(16)}' token: "${real(30)}"`,
    `key = "${real(8)}${tpl}x}${real(8)}" password = '${real(20)}'`,
    `token = "${tpl}${real(300)}"\napi_key = "${real(20)}"`,
    `apiKey = \`${real(257)}\` key = '${real(256)}'`,
    `KEY = '${tpl}x}token:"${real(20)}"'`,
    `passwordKey := "${tpl}a}${real(18)}"; tokenKey := "${real(18)}"`,
    `api_key = "${real(6)}$${real(12)}" secret = '${real(10)}{${real(10)}'`,
    // another anchor inside the template: the regex must run at the first to hide it
    `key = "${real(8)}${tpl}x}token="${real(20)}"`,
    `KEY = "${real(8)}${tpl}x}TOKEN:"${real(20)}"`,
    `passwordKey = '${tpl}${real(10)}pwd='${real(20)}'`,
    `secret = '${tpl}${real(20)}'Secret='${real(20)}'`,
    `key = "${real(300)}token="${real(20)}"`,
    `key = "${real(250)}${tpl}x}token="${real(20)}"`,
    `key = "${real(256)}token="${real(20)}"`,
    `key = "${real(255)}token="${real(20)}"`,
    `key = "${real(255)}"token="${real(20)}"`,
    // the anchor after the template's end + 1, at the end of the text, and cut off there
    `KEY = '${tpl}${real(20)}'\ntoken='${real(20)}'`,
    `KEY = '${tpl}${real(20)}' token='${real(20)}'`,
    `KEY = '${tpl}${real(20)}'key`,
    `KEY = '${tpl}${real(20)}key`,
    `KEY = '${tpl}${real(20)}ke`,
    `Token: "${real(4)}${tpl}${real(20)}"`,
    `TOKEN := "${real(16)}${tpl}"`,
    `TOKEN := "${real(16)}$"`,
  ];
  for (const text of texts) {
    same(RULES, text, text);
    for (const v of [`${text}\n${text}`, `x${text}`, text.slice(0, -1), text.slice(0, -2)]) same(RULES, v, v);
  }
});

test("long lines, long texts and a private key body near its 65,536 limit", () => {
  const random = rng(17);
  const b64 = (n: number) =>
    Array.from(
      { length: n },
      () => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[Math.floor(random() * 64)],
    ).join("");
  const key = (body: number) =>
    `-----BEGIN RSA PRIVATE KEY-----\n${b64(body)}\n-----END RSA PRIVATE KEY-----`;
  for (const body of [1000, 65_000, 65_530, 65_534, 65_536, 65_540])
    for (const [before, after] of [
      ["", ""],
      ["x\n", "\n"],
      [`${key(100)}\n`, `\n${key(70)}`],
      ["a = 1 ".repeat(4000), ""],
    ] as const) {
      const text = `${before}${key(body)}${after}`;
      same(RULES, text, `private key body ${body} after ${before.length}`);
    }
  // The longest matches of the rules that run on a span around their anchor, then one character
  // that their lookahead must see.
  const longest = [
    `secret_${"x".repeat(29)}"     :=     "${b64(40)}`,
    `token_base64"     ===     '${b64(256)}'`,
    `aws${"-".repeat(30)}'\t\t\t\t\t=>\n\n\n\n\n\`${b64(40)}`,
    `passwORD_base64"     ===     '${b64(256)}'`,
    // generic-env-secret allows any number of blanks around "="
    `\nexport SECRET_KEY${" ".repeat(65)}=\t${b64(20)}`,
    `\nSECRET_KEY =${"\t".repeat(65)}${b64(20)}`,
  ];
  for (const text of longest)
    for (const next of ["", "A", "=", " ", "'", "\n"])
      for (const before of ["", "cancellation_", "public-", "x\n"])
        same(UNVALIDATED, `${before}${text}${next}`, text);
  // One line of 70 KB (minified code) with assignments all along it, and many short lines.
  const assignment = () => `,api_key="${b64(24)}",token:'${b64(30)}'`;
  same(UNVALIDATED, Array.from({ length: 1000 }, assignment).join(""), "one long line");
  same(UNVALIDATED, Array.from({ length: 1000 }, assignment).join("\n"), "many lines");
  same(UNVALIDATED, Array.from({ length: 1000 }, assignment).join("\r\n"), "many CRLF lines");
});

test("every match of a rule starts with one of its anchors, where its guard says yes", () => {
  const random = rng(3);
  const texts = [
    ...corpus.flatMap((t) => variants(t, random)),
    ...Array.from({ length: 3000 }, () => nearBounds(random)),
  ];
  for (const rule of UNVALIDATED) {
    const re = new RegExp(rule.pattern.source, `${rule.pattern.flags.replace(/[gyd]/g, "")}g`);
    const anchors = rule.anchors!.map((a) => (re.ignoreCase ? a.toLowerCase() : a));
    for (const text of texts) {
      const bytes = Buffer.from(text, "latin1");
      for (const m of text.matchAll(re)) {
        const at = m.index;
        const head = (s: string) => (re.ignoreCase ? s.toLowerCase() : s);
        const anchor = anchors.find((a) => head(text.slice(at, at + a.length)) === a);
        assert.ok(anchor, `${rule.id}: a match at no anchor: ${JSON.stringify(m[0])}`);
        if (rule.after)
          assert.ok(
            passesSteps(bytes, at + anchor.length, bytes.length, rule.after),
            `${rule.id}: its steps turn down a match: ${JSON.stringify(m[0])}`,
          );
        if (rule.guard)
          assert.ok(
            rule.guard(bytes, at, at + anchor.length, 0, bytes.length),
            `${rule.id}: the guard turns down a match: ${JSON.stringify(m[0])}`,
          );
      }
    }
  }
});

test("the literal finder (WebAssembly) reports what a plain search does, at block and buffer edges", () => {
  const cls = (re: RegExp) =>
    Uint8Array.from({ length: 256 }, (_, c) => (re.test(String.fromCharCode(c)) ? 1 : 0));
  const step = (re: RegExp, min: number, max: number, open = false): Step => ({
    bytes: cls(re),
    min,
    max,
    open,
  });
  const assignment = [step(/[\w .]/, 0, 6), step(/[:=]/, 1, 1)];
  const lits: Needle[] = [
    { text: "secret", ignoreCase: true, after: assignment },
    { text: "secret", ignoreCase: true }, // the same literal: both reported, each on its own terms
    { text: "aws", ignoreCase: true, after: [step(/[\w .]/, 0, 6, true), step(/[:=]/, 1, 1)] },
    { text: "s3c", ignoreCase: false, after: [step(/x/, 0, 0), step(/y/, 1, 1)] },
    {
      text: "KEY",
      ignoreCase: true,
      after: [step(/ /, 0, 2), step(/=/, 1, 1), step(/ /, 0, 2), step(/\d/, 2, 4)],
    },
    { text: "key", ignoreCase: true },
    { text: "token", ignoreCase: true },
    { text: "AKIA", ignoreCase: false },
    { text: "A3T", ignoreCase: false },
    { text: "://", ignoreCase: false },
    { text: "-----BEGIN", ignoreCase: false },
    { text: "sk-", ignoreCase: false },
    { text: "sk-ant-", ignoreCase: false },
    { text: "passw", ignoreCase: true },
    { text: "pwd", ignoreCase: true },
    ...Array.from({ length: 30 }, (_, i) => ({
      text: `q${String.fromCharCode(65 + i)}z_${i}`,
      ignoreCase: i % 2 === 0,
    })),
  ];
  const wasm = literalFinder(lits);
  const js = literalFinder(lits, "js");
  assert.equal(wasm.kind, "wasm", "WebAssembly SIMD is available on Node 20");
  const random = rng(5);
  const words = [
    ...lits.map((l) => l.text),
    "KEY",
    "Token",
    "=",
    ":",
    "  =",
    "SECRET_KEY =",
    "s3cy",
    "key = 12",
    "KEY=1",
    "key  =  99999",
    "aws abcdef:",
    "akia",
    "sk-ANT-",
    "PASSW",
    "\u00ff",
    "\0",
    "x",
    " ",
  ];
  const run = (text: string, start: number, end: number, limit: number) => {
    for (const f of [wasm, js]) f.arena(text.length).write(text, 0, "latin1");
    const pairs = (f: typeof wasm) => {
      const n = f.find(start, end, limit);
      const out: string[] = [];
      for (let k = 0; k < n; k++) out.push(`${f.hits[2 * k]}:${f.hits[2 * k + 1]}`);
      return out;
    };
    const expected = findNeedles(Buffer.from(text, "latin1"), start, end, limit, lits);
    const want: string[] = [];
    for (let k = 0; k < expected.count; k++) want.push(`${expected.hits[2 * k]}:${expected.hits[2 * k + 1]}`);
    assert.deepEqual(
      pairs(wasm).sort(),
      want.sort(),
      `wasm, ${text.length} bytes [${start}, ${end}) limit ${limit}`,
    );
    assert.deepEqual(pairs(js).sort(), want.sort(), "js");
  };
  for (let n = 0; n < 200; n++) {
    let text = "";
    const size = n < 150 ? Math.floor(random() * 300) : 65536 + Math.floor(random() * 70000);
    while (text.length < size) text += random() < 0.3 ? words[Math.floor(random() * words.length)] : "ab ";
    text = text.slice(0, size);
    run(text, 0, text.length, text.length);
    const start = Math.floor(random() * text.length);
    const end = start + Math.floor(random() * (text.length - start));
    run(text, start, end, end + Math.floor(random() * (text.length - end)));
  }
  // A literal at the very end, and one cut off by the limit.
  run("xx sk-ant-", 0, 10, 10);
  run("xx sk-ant-", 0, 10, 9);
  // A Follow cut off by the limit, or by its max.
  run("secret = 1", 0, 10, 10);
  run("secret = 1", 0, 10, 8);
  run("secret = 1", 0, 10, 7);
  run("secretabcdef=", 0, 13, 13);
  run("secretabcdefg=", 0, 14, 14);
  run("secretabcdefg", 0, 13, 13);
});

test("the literal finder's drops: the hits a plain search keeps, at block and buffer edges", () => {
  const cls = (re: RegExp) =>
    Uint8Array.from({ length: 256 }, (_, c) => (re.test(String.fromCharCode(c)) ? 1 : 0));
  const value = cls(/[^"'`\s\\]/);
  const steps: Step[] = [
    { bytes: cls(/[\w.-]/), min: 0, max: 10 },
    { bytes: cls(/[:=]/), min: 1, max: 1 },
    { bytes: cls(/ /), min: 0, max: 2 },
    { bytes: cls(/["'`]/), min: 1, max: 1 },
    { bytes: value, min: 4, max: 4 },
  ];
  const drop = { bytes: value, max: 12, pair: [36, 123] as [number, number], group: 1 };
  const lits: Needle[] = [
    { text: "key", ignoreCase: true, after: steps, drop },
    { text: "key", ignoreCase: true }, // the same literal without a drop: always reported
    { text: "token", ignoreCase: true, after: steps, drop },
    { text: "Passwd", ignoreCase: false, after: steps, drop },
    { text: "aws", ignoreCase: true, after: steps, drop: { ...drop, group: 2 } },
    // a group where one literal starts another: its drops are not used
    { text: "pwd", ignoreCase: true, after: steps, drop: { ...drop, group: 3 } },
    { text: "pwdx", ignoreCase: true, after: steps, drop: { ...drop, group: 3 } },
    // an open step: its drop is not used
    { text: "sec", ignoreCase: true, after: [{ ...steps[0]!, open: true }, ...steps.slice(1)], drop },
  ];
  const wasm = literalFinder(lits);
  const js = literalFinder(lits, "js");
  assert.equal(wasm.kind, "wasm");
  const words = [
    ...["key", "KEY", "Key", "token", "TOKEN", "Passwd", "passwd", "aws", "pwd", "pwdx", "sec", "ke", "tok"],
    ...["=", ":", " ", '"', "'", "`", "$", "{", ["$", "{"].join(""), "}", "\n", "ab", "xyz12", "k"],
  ];
  const random = rng(23);
  const run = (text: string, start: number, end: number, limit: number) => {
    for (const f of [wasm, js]) f.arena(text.length).write(text, 0, "latin1");
    const pairs = (f: typeof wasm) => {
      const n = f.find(start, end, limit);
      const out: string[] = [];
      for (let k = 0; k < n; k++) out.push(`${f.hits[2 * k]}:${f.hits[2 * k + 1]}`);
      return out;
    };
    const expected = findNeedles(Buffer.from(text, "latin1"), start, end, limit, lits);
    const want: string[] = [];
    for (let k = 0; k < expected.count; k++) want.push(`${expected.hits[2 * k]}:${expected.hits[2 * k + 1]}`);
    const what = `${JSON.stringify(text.slice(0, 200))}… ${text.length} bytes [${start}, ${end}) limit ${limit}`;
    assert.deepEqual(pairs(wasm), want, `wasm: ${what}`);
    assert.deepEqual(pairs(js), want, `js: ${what}`);
  };
  let dropped = 0;
  for (let n = 0; n < 3000; n++) {
    let text = "";
    const size = n < 2900 ? Math.floor(random() * 120) : 20000 + Math.floor(random() * 50000);
    while (text.length < size) text += words[Math.floor(random() * words.length)];
    text = text.slice(0, size);
    run(text, 0, text.length, text.length);
    const start = Math.floor(random() * text.length);
    const end = start + Math.floor(random() * (text.length - start));
    run(text, start, end, end + Math.floor(random() * (text.length - end)));
    // how many hits the drops took (the test must exercise them)
    const all = findNeedles(
      Buffer.from(text, "latin1"),
      0,
      text.length,
      text.length,
      lits.map(({ drop: _d, ...l }) => l),
    ).count;
    dropped += all - findNeedles(Buffer.from(text, "latin1"), 0, text.length, text.length, lits).count;
  }
  assert.ok(dropped > 300, `drops exercised: ${dropped}`);
  const tpl = ["$", "{"].join("");
  // Dropped; kept for a group literal before the value's end + 1 (even cut off, or at the end).
  for (const t of [
    `key='a${tpl}b'`,
    `key='a${tpl}b'key`,
    `key='a${tpl}b'KE`,
    `key='a${tpl}bkey`,
    `key='a${tpl}bke`,
    `key='a${tpl}b' key`,
    `key='a${tpl}PASSWD'`,
    `key='a${tpl}Passwd'`,
    `KEY:"1234567890123"`,
    `KEY:"123456789012"`,
    `KEY:"1234567890${tpl}"`,
    `KEY:"12345678901${tpl}"`,
    `key='aws${tpl}b'`,
  ])
    for (let limit = 0; limit <= t.length; limit++) run(t, 0, limit, limit);
});

test("the literal finder's context filter: no hit lost, at block, window and buffer edges", () => {
  const cls = (re: RegExp) =>
    Uint8Array.from({ length: 256 }, (_, c) => (re.test(String.fromCharCode(c)) ? 1 : 0));
  const name = cls(/[\w.-]/);
  const secretSteps: Step[] = [
    { bytes: name, min: 0, max: 10 },
    { bytes: cls(/["'`]/), min: 0, max: 1 },
    { bytes: cls(/\s/), min: 0, max: 5 },
    { bytes: cls(/[:=]/), min: 1, max: 1 },
    { bytes: cls(/["'`]/), min: 1, max: 1 },
  ];
  const envSteps: Step[] = [
    { bytes: name, min: 0, max: 10 },
    { bytes: cls(/[ \t]/), min: 0, max: 40, open: true },
    { bytes: cls(/=/), min: 1, max: 1 },
  ];
  const needles: Needle[] = [
    { text: "key", ignoreCase: true, after: secretSteps },
    { text: "key", ignoreCase: true, after: envSteps },
    { text: "token", ignoreCase: true, after: secretSteps },
    { text: "Secret", ignoreCase: false, after: envSteps },
    {
      text: "://",
      ignoreCase: false,
      after: [
        { bytes: cls(/[^:@\s]/), min: 0, max: 20 },
        { bytes: cls(/:/), min: 1, max: 1 },
      ],
    },
    { text: "AKIA", ignoreCase: false },
    { text: "tok", ignoreCase: false }, // unfiltered, and sharing the first bytes of a filtered one
  ];
  const lits = literalsOf(needles);
  const filter = contextFilter(needles, lits);
  assert.deepEqual(
    lits.filter((_, i) => filter?.filtered[i]).map((l) => l.text),
    ["key", "token", "Secret"],
    "the filter is in use",
  );
  const rules = new Detector(RULES);
  const ruleLits = literalsOf(rules.needles);
  assert.deepEqual(
    ruleLits.filter((_, i) => contextFilter(rules.needles, ruleLits)?.filtered[i]).map((l) => l.text),
    ["aws", "secret", "key", "token", "passw", "pwd"],
    "the built-in rules' keywords are filtered",
  );
  const wasm = literalFinder(needles);
  assert.equal(wasm.kind, "wasm");
  const words = [
    ...["key", "KEY", "token", "Token", "Secret", "secret", "tok", "://", "AKIA", "ke"],
    ...["=", ":", " ", "\t", "\n", '"', "'", "_", ".", "-", "abc", "x".repeat(9), " ".repeat(12), "(", ","],
  ];
  const random = rng(29);
  const run = (text: string, start: number, end: number, limit: number) => {
    wasm.arena(text.length).write(text, 0, "latin1");
    const n = wasm.find(start, end, limit);
    const got: string[] = [];
    for (let k = 0; k < n; k++) got.push(`${wasm.hits[2 * k]}:${wasm.hits[2 * k + 1]}`);
    const expected = findNeedles(Buffer.from(text, "latin1"), start, end, limit, needles);
    const want: string[] = [];
    for (let k = 0; k < expected.count; k++) want.push(`${expected.hits[2 * k]}:${expected.hits[2 * k + 1]}`);
    assert.deepEqual(
      got,
      want,
      `${JSON.stringify(text.slice(0, 300))} ${text.length} bytes [${start}, ${end}) limit ${limit}`,
    );
    return n;
  };
  let hits = 0;
  for (let n = 0; n < 4000; n++) {
    let text = "";
    const size = n < 3900 ? Math.floor(random() * 150) : 10000 + Math.floor(random() * 40000);
    while (text.length < size) text += words[Math.floor(random() * words.length)];
    text = text.slice(0, size);
    hits += run(text, 0, text.length, text.length);
    const start = Math.floor(random() * text.length);
    const end = start + Math.floor(random() * (text.length - start));
    run(text, start, end, end + Math.floor(random() * (text.length - end)));
  }
  assert.ok(hits > 10000, `hits: ${hits}`);
  // The run's end at every offset from the block's start, across the 32 bytes looked at, and a
  // blank run long enough to pass the open step.
  for (let pad = 0; pad < 20; pad++)
    for (let len = 0; len < 40; len++) {
      const t = `${"(".repeat(pad)}key${"a".repeat(Math.min(len, 10))}${" ".repeat(Math.max(0, len - 10))}=`;
      for (const limit of [t.length, t.length - 1]) run(t, 0, limit, limit);
      run(`${t}x`, 0, t.length + 1, t.length + 1);
    }
});

test("the finder's module, kept as bytes, is the one its instructions assemble", () => {
  const assembled = Buffer.from(teddyModule()).toString("base64");
  assert.equal(
    TEDDY_WASM,
    assembled,
    `src/scan/teddy-module.ts is out of date; its bytes are now:\n${assembled.match(/.{1,100}/g)!.join("\n")}`,
  );
});

test("the built-in rules' buckets, kept, are the ones buckets() makes of their literals", () => {
  const d = new Detector(RULES);
  const lits = literalsOf(d.needles);
  const filtered = contextFilter(d.needles, lits)?.filtered;
  const made = { literals: bucketsKey(lits, filtered), buckets: buckets(lits, filtered) };
  assert.deepEqual(
    TEDDY_BUCKETS,
    made,
    `src/scan/teddy-module.ts's TEDDY_BUCKETS is out of date; now: ${JSON.stringify(made)}`,
  );
});

test("the literal finder: 200 needles on one literal, found at every position of a long text", () => {
  const needles: Needle[] = Array.from({ length: 200 }, () => ({ text: "aaa", ignoreCase: false }));
  const text = "a".repeat(50_002);
  const f = literalFinder(needles);
  f.arena(text.length).write(text, 0, "latin1");
  const n = f.find(0, text.length, text.length);
  assert.equal(n, 50_000 * 200);
  for (let k = 0; k < n; k += 9973) assert.equal(f.hits[2 * k], Math.floor(k / 200));
});

test("rule sets beyond the finder's limits still work: 70 literals (JavaScript finder), a 2-character anchor (no anchors)", () => {
  const many: Rule[] = Array.from({ length: 70 }, (_, i) => ({
    id: `many-${i}`,
    title: "t",
    description: "t",
    pattern: new RegExp(`L${i}X(?<secret>\\d{4})`, "g"),
    anchors: [`L${i}X`],
    example: "",
  }));
  const text = "L3X1234 L69X5678 L70X0000";
  assert.deepEqual(
    detectInText(text, many).map((f) => [f.ruleId, f.secret]),
    [
      ["many-3", "1234"],
      ["many-69", "5678"],
    ],
  );
  const short: Rule = {
    id: "short",
    title: "t",
    description: "t",
    pattern: /QZ(?<secret>\d{4})/g,
    anchors: ["QZ"],
    example: "",
  };
  assert.deepEqual(
    detectInText("a QZ1234", [short]).map((f) => f.secret),
    ["1234"],
  );
});

test("Detector over bytes: the same findings as detectInText on the latin1 text, buffer reused", () => {
  const d = new Detector();
  for (const text of corpus) {
    const bytes = Buffer.from(text, "latin1");
    assert.deepEqual(d.detectIn(bytes), detectInText(text));
    const b = d.buffer(bytes.length);
    bytes.copy(b);
    assert.deepEqual(d.detect(bytes.length), detectInText(text));
  }
  assert.deepEqual(d.detect(0), []);
});
