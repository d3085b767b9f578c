/**
 * Pattern rules for `enclave scan`: the credential kinds people actually leak.
 *
 * Each rule is a global regex (the part that is the credential in a named group "secret", else the
 * whole match), the literals every match begins with (its anchors: the detector runs the regex only
 * where one occurs, see detect.ts), optionally a guard (a cheap check on the bytes after an anchor
 * that rules out most places before the regex runs) and a `validate` that cuts false positives (a
 * checksum, an entropy floor, a structural check, placeholders). Rules whose id starts with
 * "generic" are the fallback entropy rules: where one of them and a specific rule report the same
 * secret, the specific one wins.
 *
 * Anchors and guards are promises about the pattern, kept by hand: every match starts with an
 * anchor, and a guard returns false only where the pattern cannot match. Whoever edits a pattern
 * edits them with it; test/scan/engine.test.ts runs every rule with and without them and fails on
 * any difference.
 *
 * The `example` of each rule is fake, and is assembled at run time from pieces so that neither this
 * file nor the built one looks like a credential to a secret scanner (GitHub push protection).
 */
import { shannonEntropy } from "./entropy.js";
import { type Step, stepsEnd } from "./teddy.js";

/**
 * A necessary condition for a match at an anchor, on the latin1 bytes of the text b[lo, hi): the
 * anchor occupies b[at, after). False only where the pattern cannot match at `at`.
 */
export type Guard<T = boolean> = (b: Uint8Array, at: number, after: number, lo: number, hi: number) => T;

export interface Rule {
  id: string;
  title: string;
  description: string;
  /** global, may use a named group "secret" for the credential part */
  pattern: RegExp;
  /**
   * Literals (3 to 32 characters) one of which every match starts with — case-insensitively when
   * the pattern has the i flag, else exactly. The regex then runs only where one occurs.
   */
  anchors?: string[];
  /**
   * With anchors: what the text right after an anchor must hold for a match to start there (a
   * necessary condition, in byte classes), checked by the literal finder itself (speed).
   */
  after?: Step[];
  /** With anchors: a cheap check at each anchor before the regex runs there (speed). */
  guard?: Guard;
  /**
   * With anchors, after the guard: where it can tell on the bytes that no match starting at the
   * anchor would be reported (the pattern fails there, or `validate` turns its secret down), the
   * end of the longest match that could start there; else -1. The detector then skips the regex
   * at this anchor — if no other anchor of the rule comes before that end, since a match would
   * have hidden it (speed).
   */
  dismiss?: Guard<number>;
  /**
   * With `after` and `dismiss`, for speed: a value that `dismiss` always turns down, for the literal
   * finder to drop such places itself (see Drop in teddy.ts) — the run of `bytes` from where the
   * last step of `after` begins, longer than `max` or holding `pair`; `dismiss` then returns that
   * run's end + 1 (or its start + max + 1). The detector skips such a place anyway unless another
   * anchor of the rule comes before that end, and then the finder keeps it too.
   */
  dismissValue?: { bytes: Uint8Array; max: number; pair: string };
  /**
   * With anchors: the pattern reads nothing (lookarounds included) more than `before` characters
   * before an anchor or `after` characters from it, so it can run on that span alone rather than
   * on the whole text decoded (speed). Leave out when a match or a lookaround is unbounded, or
   * when the pattern uses ^ or $. "line": nothing beyond the \n before and the \n after the anchor.
   */
  span?: { before: number; after: number } | "line";
  /**
   * Without anchors: cheap lowercase substrings, one of which must occur in the text
   * (case-insensitively) for the regex to run at all; none: it always runs.
   */
  keywords?: string[];
  /** optional extra check on the secret (checksum, entropy, structure) to cut false positives */
  validate?: (secret: string) => boolean;
  /** a realistic-looking but FAKE example for the docs, assembled at run time */
  example: string;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the validators.

/**
 * Runs, sequences and words that mark a documentation placeholder rather than a credential. The
 * words count in lower or upper case only (`your_token_here`, `YOUR_API_KEY`): in mixed case they
 * turn up in random strings too often (a 40-character token holds some 4-letter word about once in
 * a thousand).
 */
const MARKER_WORDS =
  "example|sample|dummy|placeholder|redacted|changeme|insert|replace|your|fake|secret|passw|token";
/** "…", also as its UTF-8 bytes read as latin1 (the scanner decodes files that way). */
const ELLIPSIS = "\u2026|\u00e2\u0080\u00a6";
const FAKE_MARKERS = new RegExp(
  `(.)\\1{5,}|[xX]{4,}|\\*{3,}|\\.{3}|${ELLIPSIS}|abcdef|ABCDEF|bcdefg|123456|234567|qwerty|${MARKER_WORDS}|${MARKER_WORDS.toUpperCase()}`,
);

/** True when `s` looks like a documentation placeholder (XXXX, 123456, "example", "your…"). */
export function looksFake(s: string): boolean {
  return FAKE_MARKERS.test(s);
}

/** The random part of a prefixed token is random enough: no placeholder marks, entropy >= min. */
function randomTail(tail: string, minEntropy: number): boolean {
  return !looksFake(tail) && shannonEntropy(tail) >= minEntropy;
}

/** Upper, lower and digit all present (true of practically every random base62/base64 string >= 30). */
function mixedCase(s: string): boolean {
  return /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC_TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The 6-character base62 CRC32 that ends GitHub (ghp_ & co.) and npm tokens, of their 30 random characters. */
export function base62Crc32(body: string): string {
  let n = crc32(body);
  let s = "";
  for (let i = 0; i < 6; i++) {
    s = BASE62[n % 62]! + s;
    n = Math.floor(n / 62);
  }
  return s;
}

/** `tail` is 30 random base62 characters followed by their checksum. */
function checksumTail(tail: string): boolean {
  return tail.length === 36 && base62Crc32(tail.slice(0, 30)) === tail.slice(30);
}

/** Decode base64url (tolerates missing padding); undefined if the input is not base64url. */
function base64url(s: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  return Buffer.from(s, "base64url").toString("utf8");
}

/** JWT header: decodes to a JSON object with a string "alg" other than "none". */
function jwtHeaderOk(token: string): boolean {
  const header = base64url(token.slice(0, token.indexOf(".")));
  if (header === undefined) return false;
  try {
    const h: unknown = JSON.parse(header);
    if (typeof h !== "object" || h === null || Array.isArray(h)) return false;
    const alg = (h as Record<string, unknown>).alg;
    if (typeof alg !== "string" || alg.length === 0 || alg.toLowerCase() === "none") return false;
    // The jwt.io sample token, signed with the key "your-256-bit-secret", is public knowledge.
    return !token.endsWith(".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");
  } catch {
    return false;
  }
}

/** A private key block with a real body: at least 64 base64 characters that look random. */
function privateKeyBodyOk(block: string): boolean {
  const body = block.slice(block.indexOf("-----", 5) + 5, block.lastIndexOf("-----END"));
  let b64 = "";
  for (const line of body.split(/\r?\n|\\n/)) {
    if (/^\s*[A-Za-z-]+:/.test(line)) continue; // Proc-Type:, DEK-Info:, Version:, Comment: headers
    b64 += line.replace(/[^A-Za-z0-9+/=]/g, "");
  }
  return b64.length >= 64 && shannonEntropy(b64) >= 4.5 && !/x{16,}/i.test(b64);
}

/** Template / environment references and the like: values that name a secret rather than contain it. */
const INDIRECT =
  /\$\{|\{\{|\$\(|%\(|#\{|<%|[<>]|process\.env|import\.meta|os\.environ|getenv|env\[|secrets\.|vault:|^\$[A-Za-z_]|^%[A-Za-z_]/i;

/** Passwords in URLs that are placeholders: password, ****, ${X}, <pw>, $PASS, 12345 (a port)… */
const PLACEHOLDER_PASSWORD =
  /^(?:pass(?:word|wd)?\d?|pwd|pw|secret|changeme|change[_-]?me|example|dummy|placeholder|redacted|hidden|masked?|none|null|nil|undefined|empty|todo|fixme|foo|bar|baz|test(?:ing)?|your[_-]?\w*|my[_-]?pass\w*|user[_-]?pass\w*|\w*[_-]pass(?:word)?|pass(?:word)?[_-]\w*|\d{1,5})$/i;

function urlPasswordOk(pw: string): boolean {
  if (pw.length < 3) return false;
  if (INDIRECT.test(pw) || /[{}[\]]/.test(pw)) return false;
  if (/^(.)\1*$/.test(pw) || /^(?:[*x.#_-]|\u2022|\u00e2\u0080\u00a2)+$/i.test(pw)) return false;
  if (PLACEHOLDER_PASSWORD.test(pw)) return false;
  return !/x{4,}|\*{3,}|\.\.\./i.test(pw) && !looksFake(pw);
}

/**
 * Made of words: at least 60% of the letters and digits are in pronounceable subwords (3+ letters,
 * at least a fifth vowels, never 4 consonants in a row), as in identifiers, paths, ARNs, i18n keys
 * and prose (`python3Requirements`, `kerberos-5i-read-only`, `ERROR_REPORTING_PARAM`). Random strings
 * rarely are: about 3% of random base62 strings of 16 characters, 1% of 24 (8% and 4% of lowercase
 * letters and digits, 14% and 7% of base32).
 */
export function wordy(v: string): boolean {
  let total = 0;
  let words = 0;
  for (const m of v.matchAll(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g)) {
    const s = m[0];
    total += s.length;
    if (s.length < 3 || s.charCodeAt(0) < 65 || /[^aeiouy]{4}/i.test(s)) continue;
    let vowels = 0;
    for (const c of s.toLowerCase()) if ("aeiouy".includes(c)) vowels++;
    if (vowels * 5 >= s.length) words += s.length;
  }
  return total > 0 && words >= total * 0.6;
}

/** Minified code and regular expressions: a bracket pair, two of ; | ^ $, or an operator. */
function codeLike(v: string): boolean {
  return (
    /[([{][^)\]}]*[)\]}]/.test(v) || (v.match(/[;|^$]/g)?.length ?? 0) >= 2 || /=>|&&|\|\||==|![01]\b/.test(v)
  );
}

/** Shapes that a specific rule owns: when it turned the value down (bad checksum, placeholder), so does generic. */
const SPECIFIC_PREFIX =
  /^(?:gh[pousr]_|github_pat_|gl(?:pat|dt|rt|ptt|ft|soat|cbt)-|GR1348941|xox|xapp-|[rs]k_(?:live|test)_|AIza|sk-(?:proj|svcacct|admin|None|ant)-|npm_|eyJ|(?:AKIA|ASIA|ABIA|ACCA|A3T))/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Entropy floor for generic values: random base62 of length 16 scores about 3.75, of 32 about 4.6;
 * identifiers and prose of the same lengths about 3.3 and 3.9. Hex-only values (hex keys, hashes)
 * can never exceed 4 bits per character, so they get the lower floor of 3.0.
 */
export function genericEntropyFloor(value: string): number {
  if (/^[0-9a-f]+$/i.test(value)) return 3.0;
  return Math.min(3.3 + (value.length - 16) * 0.04, 4.1);
}

/** A short type prefix (whsec_, sk-, key-) says nothing about randomness: measure what follows it. */
function withoutPrefix(v: string): string {
  const m = /^[A-Za-z]{2,8}[_-]/.exec(v);
  return m && v.length - m[0].length >= 16 ? v.slice(m[0].length) : v;
}

/** Why the value of a `secret = "…"`-style assignment is not taken for a credential; undefined if it is. */
export function genericRejection(v: string): string | undefined {
  if (v.length < 16) return "shorter than 16";
  if (INDIRECT.test(v)) return "template or environment reference";
  if (/^(?:[a-z][a-z0-9+.-]*:\/\/|data:|file:)/i.test(v)) return "URL"; // with a password: url-password
  if (SPECIFIC_PREFIX.test(v)) return "shape owned by a specific rule"; // which turned it down
  if (/^(?:pk_(?:live|test)_|ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-)/.test(v)) return "public by design";
  if (/^(?:sha\d+|md5)[-:]/i.test(v)) return "digest"; // package-lock integrity, image ids
  if (UUID.test(v)) return "UUID";
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/.test(v)) return "a.b.c expression";
  if (/%\d*\.\d*[a-zA-Z]|%[sd](?![0-9A-Fa-f])/.test(v)) return "format string";
  if (codeLike(v)) return "code or regex";
  if (!/[A-Za-z]/.test(v) || !/[0-9]/.test(v)) return "not both letters and digits";
  if (/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/.test(v)) return "ENV_VAR_NAME";
  if (/^\d{4}-\d\d-\d\d/.test(v) || /^v?\d+\.\d+\.\d+/.test(v)) return "date or version";
  if (looksFake(v)) return "placeholder";
  if (wordy(v)) {
    // Paths and file names are made of words too.
    return /^(?:\/|\.{1,2}\/|~\/|[a-z]:\\)|\.[a-z]{2,5}$/i.test(v) ? "path or file name" : "words";
  }
  if (/\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|ya?ml|txt|env|conf|cfg|ini|toml)$/i.test(v))
    return "file name";
  const body = withoutPrefix(v);
  if (shannonEntropy(body) < genericEntropyFloor(body)) return "entropy below the floor";
  return undefined;
}

/** The value of a `secret = "…"`-style assignment looks like a real credential. */
export function genericValueOk(v: string): boolean {
  return genericRejection(v) === undefined;
}

// ---------------------------------------------------------------------------------------------
// Fake examples. Pieces are joined at run time (see the header comment).

const j = (...parts: string[]): string => parts.join("");
const GH_BODY = j("trCX6sHEKYG4hjvR", "ms0ZKuW4mHUvyW");
const NPM_BODY = j("zmVOoxnnj1aRoWXZ", "fsfw91V6PJKIWN");
const JWT_EXAMPLE = j(
  Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64url"),
  ".",
  Buffer.from('{"sub":"ci-deploy","iat":1700000000}').toString("base64url"),
  ".",
  j("DjTYsKJaTl54X7nd3MRKVO", "tlTHRu0IhTgdG2nJS1Z0m"),
);
const PEM_BODY = j(
  "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
  "\n",
  "1EouEbG9+9Nt4a0HqyhK2pxCz8sgmOtf1sWjg9std3BJ2cZyjDtLQfo1qIggXmnisOOy0m",
  "\n",
  "ST56xrb5FSEPoJYcAKx9fkjlXUahxRAtNsOwJQF/5V7MDkieR952RUa8rObffevv7syPri",
);

// ---------------------------------------------------------------------------------------------
// Guards. Each mirrors the part of its pattern after the anchor, loosely (a superset): the byte
// classes are built from the same regex classes, over latin1 (what the scanner decodes files as).

/** Every latin1 character, in order: a byte class is where its regex matches in this string. */
const LATIN1 = String.fromCharCode(...Array.from({ length: 256 }, (_, c) => c));

function byteClass(re: RegExp): Uint8Array {
  const t = new Uint8Array(256);
  // One pass of the class over all 256 characters (not 256 calls: this runs at every start-up).
  for (const m of LATIN1.matchAll(new RegExp(re.source, `${re.flags.replace(/[gy]/g, "")}g`))) t[m.index] = 1;
  return t;
}

/** \s over latin1: \t \n \v \f \r, space, no-break space. */
const SPACE = byteClass(/\s/);
const QUOTE = byteClass(/["'`]/);
const NAME_PART = byteClass(/[\w.-]/);
const ASSIGNED_VALUE = byteClass(/[^"'`\s\\]/);
const ENV_VALUE = byteClass(/[^\s"'`$#;|&<>(){}[\]\\]/);
const BASE64 = byteClass(/[A-Za-z0-9/+]/);
const ENV_NAME = byteClass(/[A-Za-z0-9_.]/);
const URL_PART = byteClass(/[^\s:@/?#"'`<>\\]/);
const ALNUM = byteClass(/[A-Za-z0-9]/);
const OPERATOR = byteClass(/[:=]/);
const OPERATOR_MORE = byteClass(/[=>]/);
const BLANKS = byteClass(/[ \t]/);
const URL_BASE64 = byteClass(/[A-Za-z0-9_-]/);
const [DASH, LF, CR] = [45, 10, 13];

/** Where a run of at most `max` bytes of `cls` starting at i ends. */
function skip(b: Uint8Array, i: number, hi: number, cls: Uint8Array, max: number): number {
  const stop = Math.min(hi, i + max);
  while (i < stop && cls[b[i]!] === 1) i++;
  return i;
}

/** generic-secret's value that genericSecretDismiss turns down: one holding "${", or longer than 256 (its dismissValue). */
const GENERIC_SECRET_DISMISSED = { bytes: ASSIGNED_VALUE, max: 256, pair: ["$", "{"].join("") };

/**
 * generic-secret: a value that is a template (holds "${") is always turned down (see
 * genericRejection), and one longer than 256 never matches. The value starts where the rule's last
 * step does (the rest of the name, a quote, spaces, the operator, spaces, the opening quote).
 */
const genericSecretDismiss: Guard<number> = (b, _at, after, _lo, hi) => {
  const value = stepsEnd(b, after, hi, GENERIC_SECRET_AFTER);
  if (value < 0) return -1;
  const { bytes, max, pair } = GENERIC_SECRET_DISMISSED;
  const end = skip(b, value, hi, bytes, max + 1);
  const longest = Math.min(end, value + max) + 1; // the closing quote
  if (end - value > max) return longest;
  const [p0, p1] = [pair.charCodeAt(0), pair.charCodeAt(1)];
  for (let k = value; k + 1 < end; k++) if (b[k] === p0 && b[k + 1] === p1) return longest;
  return -1;
};

/** Backwards from i (exclusive) over `cls`: where the run starts. */
function skipBack(b: Uint8Array, i: number, lo: number, cls: Uint8Array): number {
  while (i > lo && cls[b[i - 1]!] === 1) i--;
  return i;
}

const EXPORT = Buffer.from("export", "latin1");

/** b[lo, end) ends with `word` (lowercase), ASCII case folded. */
function endsWithFolded(b: Uint8Array, end: number, lo: number, word: Uint8Array): boolean {
  if (end - word.length < lo) return false;
  for (let k = 0; k < word.length; k++) if ((b[end - word.length + k]! | 32) !== word[k]) return false;
  return true;
}

/**
 * generic-env-secret: the line before the anchor is `[ \t]*(-[ \t]+)?(export[ \t]+)?` and name
 * characters (the pattern's lookbehind, read backwards).
 */
const genericEnvGuard: Guard = (b, at, _after, lo) => {
  let j = skipBack(b, skipBack(b, at, lo, ENV_NAME), lo, BLANKS);
  if (endsWithFolded(b, j, lo, EXPORT)) j = skipBack(b, j - EXPORT.length, lo, BLANKS);
  if (j > lo && b[j - 1] === DASH) j = skipBack(b, j - 1, lo, BLANKS);
  return j === lo || b[j - 1] === LF || b[j - 1] === CR;
};

/** url-password: a letter or digit before "://". */
const urlPasswordGuard: Guard = (b, at, _after, lo) => at > lo && ALNUM[b[at - 1]!] === 1;

/** b[i, hi) starts with `word`. */
function startsWith(b: Uint8Array, i: number, hi: number, word: Uint8Array): boolean {
  if (i + word.length > hi) return false;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}

const OPENAI_KINDS = ["proj-", "svcacct-", "admin-", "None-"].map((k) => Buffer.from(k, "latin1"));
const OPENAI_LEGACY = Buffer.from("T3BlbkFJ", "latin1");

/** openai-api-key: after "sk-", a kind and 40 characters, or 20 letters and digits and T3BlbkFJ. */
const openaiGuard: Guard = (b, _at, after, _lo, hi) => {
  for (const kind of OPENAI_KINDS)
    if (startsWith(b, after, hi, kind))
      return skip(b, after + kind.length, hi, URL_BASE64, 40) - after - kind.length === 40;
  return skip(b, after, hi, ALNUM, 20) - after === 20 && startsWith(b, after + 20, hi, OPENAI_LEGACY);
};

const KEYWORDS = ["key", "secret", "token", "passw", "pwd"];

// Steps: what the text right after an anchor must hold (checked by the literal finder).

const step = (bytes: Uint8Array, min: number, max: number, open = false): Step => ({ bytes, min, max, open });
const EQUALS_SIGN = byteClass(/=/);
const COLON_SIGN = byteClass(/:/);
const AT_SIGN = byteClass(/@/);
const DOT_SIGN = byteClass(/\./);

/**
 * generic-secret: the rest of the name (at most 10: "passw" + "ord" + a suffix such as "_base64"),
 * a quote, up to 5 spaces, the operator (:=, =>, :, =, ==, ===), up to 5 spaces, a quote, then 16
 * value characters.
 */
const GENERIC_SECRET_AFTER = [
  step(NAME_PART, 0, 10),
  step(QUOTE, 0, 1),
  step(SPACE, 0, 5),
  step(OPERATOR, 1, 1),
  step(OPERATOR_MORE, 0, 2),
  step(SPACE, 0, 5),
  step(QUOTE, 1, 1),
  step(ASSIGNED_VALUE, 16, 16),
];

/** aws-secret-access-key: up to 30 name characters, the assignment, an optional quote, 40 base64 characters. */
const AWS_SECRET_AFTER = [
  step(NAME_PART, 0, 30),
  step(QUOTE, 0, 1),
  step(SPACE, 0, 5),
  step(OPERATOR, 1, 1),
  step(OPERATOR_MORE, 0, 1),
  step(SPACE, 0, 5),
  step(QUOTE, 0, 1),
  step(BASE64, 40, 40),
];

/** generic-env-secret: the rest of the name, blanks, "=", blanks, 16 value characters. */
const GENERIC_ENV_AFTER = [
  step(NAME_PART, 0, 10),
  step(BLANKS, 0, 64, true),
  step(EQUALS_SIGN, 1, 1),
  step(BLANKS, 0, 64, true),
  step(ENV_VALUE, 16, 16),
];

/** url-password: a user name (at most 128), ":", a password (1 to 256), "@". */
const URL_PASSWORD_AFTER = [
  step(URL_PART, 0, 128),
  step(COLON_SIGN, 1, 1),
  step(URL_PART, 1, 255, true),
  step(AT_SIGN, 1, 1),
];

/** jwt: 6 or more base64url characters, ".", 2 or more, ".", 16 or more. */
const JWT_AFTER = [
  step(URL_BASE64, 6, 255, true),
  step(DOT_SIGN, 1, 1),
  step(URL_BASE64, 2, 255, true),
  step(DOT_SIGN, 1, 1),
  step(URL_BASE64, 16, 16),
];

// ---------------------------------------------------------------------------------------------

export const RULES: Rule[] = [
  {
    id: "aws-access-key-id",
    title: "AWS access key ID",
    description:
      "An AWS access key ID (AKIA… long-term, ASIA… temporary; also ABIA, ACCA, A3T…): 4 letters and " +
      "16 base32 characters. Not secret on its own, but its secret access key is rarely far away.",
    pattern: /\b(?<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b/g,
    anchors: ["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
    validate: (s) => randomTail(s.slice(4), 2.5),
    example: j("AKIA", "HMQRZ6ED6Z6QY7HO"),
  },
  {
    id: "aws-secret-access-key",
    title: "AWS secret access key",
    description:
      "A 40-character base64 AWS secret access key assigned to a name containing aws or secret " +
      '(aws_secret_access_key = …, "SecretAccessKey": "…").',
    pattern:
      /(?:aws|secret)[\w.-]{0,30}?["'`]?\s{0,5}(?::=|=>|:|=)\s{0,5}["'`]?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=_-])/gi,
    anchors: ["aws", "secret"],
    after: AWS_SECRET_AFTER,
    // No lookbehind; a match is at most 90 characters, then a one-character lookahead.
    span: { before: 0, after: 96 },
    validate: (s) => mixedCase(s) && randomTail(s, 4.0),
    example: j("aws_secret_access_key = ", "+yy6dGT+3ldx4dbg19/2", "LzKfkBxhmR9t/iM2frKC"),
  },
  {
    id: "github-token",
    title: "GitHub token (classic PAT, OAuth, user-to-server, server-to-server, refresh)",
    description:
      "ghp_, gho_, ghu_, ghs_ and ghr_ tokens. Those of the standard length (36 characters after " +
      "the prefix) must carry a valid CRC32 checksum in their last 6 characters.",
    pattern: /\b(?<secret>gh[pousr]_[A-Za-z0-9]{36,251})\b/g,
    anchors: ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
    validate: (s) => {
      const tail = s.slice(4);
      return tail.length === 36 ? checksumTail(tail) : mixedCase(tail) && randomTail(tail, 4.0);
    },
    example: j("gh", "p_", GH_BODY, base62Crc32(GH_BODY)),
  },
  {
    id: "github-fine-grained-pat",
    title: "GitHub fine-grained personal access token",
    description: "github_pat_ followed by 22 and 59 base62 characters.",
    pattern: /\b(?<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b/g,
    anchors: ["github_pat_"],
    validate: (s) => mixedCase(s.slice(11)) && randomTail(s.slice(11), 4.0),
    example: j(
      "github",
      "_pat_",
      "MoXtEOiAhEkZj20xZFF8fQ",
      "_",
      "PdsxzHWbLFAxACrMnK4BQ7LlvA7Le0oWg2bqpR9889pJktAJiRcviT2YAxe",
    ),
  },
  {
    id: "gitlab-token",
    title: "GitLab token",
    description:
      "GitLab personal, deploy, runner, pipeline-trigger, feed, SCIM and CI-job tokens (glpat-, gldt-, " +
      "glrt-, glptt-, glft-, glsoat-, glcbt-, including the routable …​.01.xxxxxxxxx form) and runner " +
      "registration tokens (GR1348941…).",
    pattern:
      /\b(?<secret>(?:glpat|gldt|glrt|glptt|glft|glsoat|glcbt)-[A-Za-z0-9_-]{20,300}(?:\.[A-Za-z0-9]{2}\.[A-Za-z0-9]{7,12})?|GR1348941[A-Za-z0-9_-]{20,50})(?![A-Za-z0-9_-])/g,
    anchors: ["glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "glcbt-", "GR1348941"],
    validate: (s) => {
      const tail = (s.startsWith("GR1348941") ? s.slice(9) : s.slice(s.indexOf("-") + 1)).split(".")[0]!;
      return randomTail(tail, 3.0);
    },
    example: j("gl", "pat-", "8eXzf3Ln9Ht2poz9NFAt"),
  },
  {
    id: "slack-token",
    title: "Slack token",
    description:
      "Slack bot, user, workspace, refresh and configuration tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, " +
      "xoxe-, xoxe.xoxp-) and app-level tokens (xapp-); the last segment must look random.",
    pattern:
      /\b(?<secret>xox(?:e\.xox)?[abposre]-\d{1,15}(?:-[A-Za-z0-9]{1,80}){1,4}|xapp-\d-[A-Z0-9]{6,15}-\d{6,20}-[A-Za-z0-9]{32,100})(?![A-Za-z0-9-])/g,
    anchors: ["xox", "xapp-"],
    validate: (s) => {
      const last = s.slice(s.lastIndexOf("-") + 1);
      return last.length >= 16 && randomTail(last, 3.0);
    },
    example: j("xo", "xb-", "2804173960-", "5512093847162-", "PF91o8SUdV3jq9fK3QF5IihG"),
  },
  {
    id: "slack-webhook-url",
    title: "Slack incoming webhook or workflow URL",
    description:
      "hooks.slack.com/services/T…/B…/… (and /workflows/, /triggers/): anyone with the URL can post.",
    pattern:
      /\bhooks\.slack\.com\/(?:services\/T[A-Z0-9]{6,12}\/B[A-Z0-9]{6,12}\/[A-Za-z0-9]{20,32}|(?:workflows|triggers)\/T[A-Z0-9]{6,12}\/A[A-Z0-9]{6,12}\/\d{6,20}\/[A-Za-z0-9]{20,40})(?![A-Za-z0-9])/g,
    anchors: ["hooks.slack.com"],
    validate: (s) => !looksFake(s) && shannonEntropy(s.slice(s.lastIndexOf("/") + 1)) >= 3.0,
    example: j(
      "https://hooks.slack",
      ".com/services/",
      "T9Z5MXQ46KL/BTK5GJ0UW2H/",
      "y2ZOKAS73PH3lR1XPLtrWwQf",
    ),
  },
  {
    id: "stripe-live-key",
    title: "Stripe live secret or restricted key",
    description: "sk_live_… and rk_live_…: full (or restricted) access to a live Stripe account.",
    pattern: /\b(?<secret>[rs]k_live_[A-Za-z0-9]{20,247})(?![A-Za-z0-9])/g,
    anchors: ["sk_live_", "rk_live_"],
    validate: (s) => randomTail(s.slice(8), 3.0),
    example: j("sk", "_live_", "51xL7htu2KT0tWH9BQclbolobpRaOJZv4UIR0yqWr4xMCwmS1HPO9rbbYmSogZlc1b4n"),
  },
  {
    id: "stripe-test-key",
    title: "Stripe test-mode secret or restricted key",
    description:
      "sk_test_… and rk_test_…: no money moves, but the test account's data and settings are exposed.",
    pattern: /\b(?<secret>[rs]k_test_[A-Za-z0-9]{20,247})(?![A-Za-z0-9])/g,
    anchors: ["sk_test_", "rk_test_"],
    validate: (s) => randomTail(s.slice(8), 3.0),
    example: j("sk", "_test_", "KkGp4VTkwrL8hYEu6QqUJZNH"),
  },
  {
    id: "google-api-key",
    title: "Google API key",
    description: "AIza followed by 35 base64url characters (Google Cloud, Maps, Firebase, Gemini…).",
    pattern: /\b(?<secret>AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])/g,
    anchors: ["AIza"],
    validate: (s) => randomTail(s.slice(4), 3.5),
    example: j("AI", "za", "ikI-r_6WH3bMKB2fTSDCZ7LC1oh_0Yg8dsr"),
  },
  {
    id: "openai-api-key",
    title: "OpenAI API key",
    description:
      "Project, service-account and admin keys (sk-proj-, sk-svcacct-, sk-admin-, sk-None-) and legacy " +
      "user keys (sk-…T3BlbkFJ…).",
    pattern:
      /\b(?<secret>sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{40,250}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![A-Za-z0-9_-])/g,
    anchors: ["sk-"],
    guard: openaiGuard,
    // \b looks one character back; a match is at most 261 characters, then a lookahead of one.
    span: { before: 1, after: 264 },
    validate: (s) => {
      const tail = s.slice(s.indexOf("-", 3) + 1);
      return mixedCase(tail) && randomTail(tail, 3.5);
    },
    example: j(
      "sk-",
      "proj-",
      "EKS_bVEY5z2QR7eNQunXxFDDoXjR-5v18v_jApVkIcB3BAIsWxYkv-Z9MaQf1Tg5bPn_E9JyZA",
      "T3Blbk",
      "FJgzeIiNOn8DjDuVzN50l5QRuToA6xyfjnCcwj1oCSmC6pt3WSF8gDd8ya61IcSEmpZKoU0GSxmw",
    ),
  },
  {
    id: "anthropic-api-key",
    title: "Anthropic API key",
    description: "sk-ant-api03-…, sk-ant-admin01-… and sk-ant-oat01-… keys and tokens.",
    pattern: /\b(?<secret>sk-ant-(?:api|admin|oat|ort|sid)\d{2}-[A-Za-z0-9_-]{32,200})(?![A-Za-z0-9_-])/g,
    anchors: ["sk-ant-"],
    validate: (s) => {
      const tail = s.slice(s.indexOf("-", 7) + 1);
      return mixedCase(tail) && randomTail(tail, 3.5);
    },
    example: j(
      "sk-",
      "ant-api03-",
      "xgwUelZQ_SoY1nYKiS1hGUzrgGh9P_rzyhvIWvgOv705IYr9Aprs3ZZSI8sYLWJLBLQVQZK8d_qxzeFs7jTd3Sn3IyDSD",
      "AA",
    ),
  },
  {
    id: "npm-token",
    title: "npm access token",
    description: "npm_ followed by 36 base62 characters, the last 6 a valid CRC32 checksum of the first 30.",
    pattern: /\b(?<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])/g,
    anchors: ["npm_"],
    validate: (s) => checksumTail(s.slice(4)),
    example: j("np", "m_", NPM_BODY, base62Crc32(NPM_BODY)),
  },
  {
    id: "private-key",
    title: "Private key block",
    description:
      "-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY----- (PKCS#1/#8, RSA, EC, DSA, OPENSSH, " +
      "ENCRYPTED, PGP … PRIVATE KEY BLOCK), also inside a string with \\n escapes; the body must hold at " +
      "least 64 random-looking base64 characters. The reported secret is the whole block.",
    pattern:
      /-----BEGIN[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,65536}?-----END[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----/g,
    anchors: ["-----BEGIN"],
    validate: privateKeyBodyOk,
    example: j(
      "-----BEGIN OPENSSH ",
      "PRIVATE KEY-----\n",
      PEM_BODY,
      "\n-----END OPENSSH ",
      "PRIVATE KEY-----",
    ),
  },
  {
    id: "jwt",
    title: "JSON Web Token",
    description:
      'Three base64url parts (eyJ….….…) whose header decodes to JSON with an "alg" other than none, ' +
      "and a signature of at least 16 characters: a bearer token that may still be valid.",
    pattern: /\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{16,}(?![A-Za-z0-9_-])/g,
    anchors: ["eyJ"],
    after: JWT_AFTER,
    validate: jwtHeaderOk,
    example: JWT_EXAMPLE,
  },
  {
    id: "url-password",
    title: "Password in a URL",
    description:
      "scheme://user:password@host (database, broker, proxy, git remote…). The password is the secret. " +
      `Placeholders are ignored: password, ****, xxxx, \${VAR}, $VAR, {{var}}, <password>, and a ` +
      "password equal to the user name (postgres:postgres).",
    pattern:
      /:\/\/(?<=[A-Za-z0-9]:\/\/)(?<user>[^\s:@/?#"'`<>\\]{0,128}):(?!\k<user>@)(?<secret>[^\s:@/?#"'`<>\\]{1,256})@(?=[A-Za-z0-9[])(?!(?:[A-Za-z0-9-]+\.)*(?:example|invalid)(?:\.(?:com|org|net))?(?![A-Za-z0-9.-]))/g,
    anchors: ["://"],
    after: URL_PASSWORD_AFTER,
    guard: urlPasswordGuard,
    validate: urlPasswordOk,
    example: j("postgres://app:", "9InMrlljAdUypERZK064", "@db.internal:5432/app"),
  },
  {
    id: "generic-secret",
    title: "High-entropy value assigned to a key, secret, token or password",
    description:
      "A quoted value of 16+ characters assigned (=, :, :=, =>, ==) to a name ending in key, secret, " +
      'token, password, passwd or pwd (api_key = "…", "clientSecret": "…"), when it has letters and ' +
      "digits, its Shannon entropy is above a floor that grows with its length (3.3 bits/char at 16 " +
      "characters up to 4.1; 3.0 for hex), and it is not a placeholder, a template or environment " +
      `reference (\${X}, process.env.X), a path, a URL, a UUID, an ENV_VAR_NAME, a date or a version.`,
    pattern:
      /(?:(?<!pub(?:lic)?[_.-]?)key|secret|(?<!(?:continuation|next|page|pagination|sync|cancellation|idempotency|csrf|xsrf)[_.-]?)token|passw(?:or)?d|pwd)(?:s|[_.-]?(?:key|secret|token|value|base|str|string|b64|base64|hex|raw|\d{1,2}))?["'`]?\s{0,5}(?::=|=>|:|={1,3})\s{0,5}(?<q>["'`])(?<secret>[^"'`\s\\]{16,256})\k<q>/gi,
    anchors: KEYWORDS,
    after: GENERIC_SECRET_AFTER,
    dismiss: genericSecretDismiss,
    dismissValue: GENERIC_SECRET_DISMISSED,
    // Lookbehinds reach 13 characters back ("cancellation_"); a match is at most 287 characters
    // ("password", "_base64", a quote, 5 spaces, "===", 5 spaces, a quoted value of 256).
    span: { before: 16, after: 320 },
    validate: genericValueOk,
    example: j('api_key = "', "FPQbQ3WWWgBenrCf", 'qERAhDw4eH4Kl0CB"'),
  },
  {
    id: "generic-env-secret",
    title: "High-entropy unquoted value of a KEY/SECRET/TOKEN/PASSWORD variable",
    description:
      "A line NAME=value (.env files, shell, docker-compose `- NAME=value`, .properties, INI) where NAME " +
      "ends in key, secret, token, password, passwd or pwd and the unquoted value passes the same checks " +
      "as generic-secret.",
    pattern:
      /(?:key|secret|token|passw(?:or)?d|pwd)(?<=^[ \t]*(?:-[ \t]+)?(?:export[ \t]+)?[A-Za-z0-9_.]*(?:key|secret|token|passw(?:or)?d|pwd))(?:s|[_.-]?(?:key|secret|token|value|base|str|string|b64|base64|hex|raw|\d{1,2}))?[ \t]*=[ \t]*(?<secret>[^\s"'`$#;|&<>(){}[\]\\]{16,256})[ \t]*(?:#[^\n]*)?\r?$/gim,
    anchors: KEYWORDS,
    after: GENERIC_ENV_AFTER,
    guard: genericEnvGuard,
    span: "line",
    validate: genericValueOk,
    example: j("STRIPE_WEBHOOK_SECRET=", "whsec_", "a38db65b4e0b99e541e5", "29b3e06b14038835127c"),
  },
];
