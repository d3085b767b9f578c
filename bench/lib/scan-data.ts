/**
 * Generated data for the scan benchmark, from a seeded PRNG so every run scans the same bytes:
 *
 * - a working tree of source-like text (TypeScript, Python, Go, YAML, JSON, Markdown) across a few
 *   thousand files, in the proportions of an ordinary repository, with the words scanners key on
 *   (key, token, secret, password, URLs, hashes) at the rates real code has them, and a few fake
 *   credentials planted at known places;
 * - a `git fast-import` stream of a long history: each commit edits one to three small files, a
 *   handful plant a fake credential and later ones remove it again, and a side branch holds one that
 *   never reached the main branch.
 *
 * The credentials planted are the labelled corpus's positives (test/scan/corpus), supplied by the
 * caller; nothing here is a credential.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

// ---- randomness ----

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  hex(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[this.int(16)];
    return s;
  }
  base64(n: number): string {
    const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let s = "";
    for (let i = 0; i < n; i++) s += a[this.int(64)];
    return s;
  }
}

// ---- vocabulary ----

const WORDS = [
  "user",
  "account",
  "request",
  "response",
  "config",
  "cache",
  "session",
  "order",
  "item",
  "value",
  "result",
  "error",
  "handler",
  "service",
  "client",
  "server",
  "stream",
  "buffer",
  "index",
  "count",
  "name",
  "path",
  "file",
  "data",
  "event",
  "message",
  "queue",
  "worker",
  "task",
  "job",
  "record",
  "entry",
  "field",
  "schema",
  "model",
  "view",
  "route",
  "auth",
  "login",
  "state",
  "store",
  "options",
  "params",
  "limit",
  "offset",
  "page",
  "size",
  "time",
  "date",
  "list",
  "map",
  "node",
  "tree",
  "graph",
  "parse",
  "format",
  "render",
  "update",
  "create",
  "remove",
  "fetch",
  "load",
  "save",
  "read",
  "write",
  "open",
  "close",
  "start",
  "stop",
  "retry",
  "timeout",
  "metrics",
  "logger",
  "trace",
  "span",
  "context",
  "payload",
  "header",
  "body",
  "status",
  "code",
  "host",
  "port",
  "region",
  "bucket",
  "table",
  "column",
  "row",
  "query",
  "filter",
  "sort",
  "group",
  "batch",
  "chunk",
  "hash",
  "digest",
  "verify",
  "encode",
  "decode",
  "invoice",
  "customer",
  "product",
  "price",
  "amount",
  "currency",
  "address",
  "email",
  "profile",
  "avatar",
  "upload",
  "download",
  "export",
  "import",
  "report",
  "summary",
  "detail",
];
/** Appear in real code often enough that a scanner's keyword prefilter fires on most files. */
const SENSITIVE = ["key", "token", "secret", "password", "apiKey", "accessToken", "cacheKey", "sortKey"];
const TYPES = ["string", "number", "boolean", "Date", "Buffer", "Record<string, unknown>", "unknown[]"];
const PROSE = [
  "the",
  "a",
  "of",
  "to",
  "and",
  "when",
  "if",
  "is",
  "not",
  "for",
  "this",
  "that",
  "with",
  "on",
  "every",
  "returns",
  "keeps",
  "reads",
  "writes",
  "before",
  "after",
  "once",
  "only",
  "first",
  "last",
  "each",
  "caller",
  "value",
  "retry",
  "cache",
  "limit",
  "request",
  "order",
  "page",
  "field",
  "error",
  "empty",
];

function word(r: Rng): string {
  return r.chance(0.04) ? r.pick(SENSITIVE) : r.pick(WORDS);
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function camel(r: Rng): string {
  const n = r.range(1, 3);
  let s = word(r);
  for (let i = 1; i < n; i++) s += cap(word(r));
  return s;
}

function snake(r: Rng): string {
  const n = r.range(1, 3);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(word(r).toLowerCase());
  return parts.join("_");
}

function sentence(r: Rng, min = 4, max = 12): string {
  const n = r.range(min, max);
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(r.chance(0.7) ? r.pick(PROSE) : word(r));
  return cap(w.join(" "));
}

function url(r: Rng): string {
  return r.pick([
    `https://github.com/${r.pick(WORDS)}-org/${r.pick(WORDS)}/issues/${r.range(1, 9999)}`,
    `https://docs.${r.pick(WORDS)}.io/${r.pick(WORDS)}/${r.pick(WORDS)}#${r.pick(WORDS)}`,
    `https://api.${r.pick(WORDS)}.internal/v${r.range(1, 3)}/${r.pick(WORDS)}s`,
    `https://registry.npmjs.org/${r.pick(WORDS)}-${r.pick(WORDS)}/-/${r.pick(WORDS)}-${r.range(1, 9)}.${r.range(0, 20)}.${r.range(0, 9)}.tgz`,
  ]);
}

// ---- one line of each kind of file ----

type LineGen = (r: Rng, indent: string) => string;

const TS: LineGen[] = [
  (r) => `import { ${cap(camel(r))} } from "../${r.pick(WORDS)}/${r.pick(WORDS)}.js";`,
  (r) =>
    `export function ${camel(r)}(${camel(r)}: ${r.pick(TYPES)}, ${camel(r)}: number): ${r.pick(TYPES)} {`,
  (r, i) => `${i}const ${camel(r)} = ${camel(r)}.${camel(r)}(${camel(r)}, ${r.range(0, 1000)});`,
  (r, i) => `${i}if (!${camel(r)}) throw new Error("${sentence(r)}");`,
  (r, i) => `${i}return { ${camel(r)}, ${camel(r)}: ${camel(r)} + ${r.range(1, 64)} };`,
  (_r, i) => `${i}}`,
  (r, i) => `${i}// ${sentence(r)}`,
  (r, i) => `${i}const ${camel(r)}Key = \`${r.pick(WORDS)}:\${${camel(r)}.id}\`;`,
  (r, i) => `${i}logger.debug("${sentence(r, 2, 6)}", { ${camel(r)}, ${camel(r)} });`,
  (r, i) => `${i}// see ${url(r)}`,
  (r, i) => `${i}for (const ${r.pick(WORDS)} of ${camel(r)}) ${camel(r)}.push(${r.pick(WORDS)}.${camel(r)});`,
  (r, i) => `${i}const token = lexer.next(${camel(r)});`,
  (r, i) =>
    `${i}${camel(r)}.set(${camel(r)}.key, await ${camel(r)}(${camel(r)}, { timeout: ${r.range(1, 60) * 1000} }));`,
  (r, i) =>
    `${i}export interface ${cap(camel(r))} { ${camel(r)}: ${r.pick(TYPES)}; ${camel(r)}?: ${r.pick(TYPES)} }`,
  (r, i) => `${i}const ${camel(r)} = process.env.${snake(r).toUpperCase()} ?? "${r.pick(WORDS)}";`,
];

const PY: LineGen[] = [
  (r) => `from ${r.pick(WORDS)}.${r.pick(WORDS)} import ${cap(camel(r))}, ${snake(r)}`,
  (r) => `def ${snake(r)}(${snake(r)}, ${snake(r)}=None, *args, **kwargs):`,
  (r, i) => `${i}${snake(r)} = ${snake(r)}.${snake(r)}(${snake(r)}, ${r.range(0, 500)})`,
  (r, i) => `${i}if not ${snake(r)}:`,
  (r, i) => `${i}    raise ValueError("${sentence(r)}")`,
  (r, i) => `${i}return {"${snake(r)}": ${snake(r)}, "${snake(r)}": ${r.range(0, 99)}}`,
  (r, i) => `${i}# ${sentence(r)}`,
  (r, i) => `${i}"""${sentence(r, 6, 14)}."""`,
  (r, i) => `${i}${snake(r)}_key = f"${r.pick(WORDS)}:{${snake(r)}.id}"`,
  (r, i) => `${i}log.info("${sentence(r, 2, 6)} %s", ${snake(r)})`,
  (r, i) => `${i}for ${r.pick(WORDS)} in ${snake(r)}:`,
  (r, i) => `${i}password = os.environ.get("${snake(r).toUpperCase()}_PASSWORD")`,
  (r, i) => `${i}self.${snake(r)} = ${snake(r)}`,
];

const GO: LineGen[] = [
  (r) =>
    `func (s *${cap(camel(r))}) ${cap(camel(r))}(ctx context.Context, ${camel(r)} ${r.pick(["string", "int", "[]byte"])}) error {`,
  (r, i) => `${i}${camel(r)}, err := s.${camel(r)}.${cap(camel(r))}(ctx, ${camel(r)})`,
  (_r, i) => `${i}if err != nil {`,
  (r, i) => `${i}	return fmt.Errorf("${sentence(r, 2, 6).toLowerCase()}: %w", err)`,
  (_r, i) => `${i}}`,
  (r, i) => `${i}// ${sentence(r)}`,
  (r, i) => `${i}${camel(r)} := map[string]string{"${camel(r)}": ${camel(r)}, "key": ${camel(r)}.Key}`,
  (r, i) => `${i}s.log.Debug("${sentence(r, 2, 6)}", "${camel(r)}", ${camel(r)})`,
  (r, i) => `${i}${cap(camel(r))} ${r.pick(["string", "int64", "bool", "time.Time"])} \`json:"${snake(r)}"\``,
];

const YAML: LineGen[] = [
  (r) => `${snake(r)}:`,
  (r, i) => `${i}${snake(r)}: ${r.pick(WORDS)}-${r.pick(WORDS)}`,
  (r, i) => `${i}${snake(r)}: ${r.range(0, 65535)}`,
  (r, i) => `${i}url: ${url(r)}`,
  (r, i) => `${i}# ${sentence(r)}`,
  (r, i) => `${i}- name: ${sentence(r, 2, 5)}`,
  (r, i) => `${i}  run: npm run ${r.pick(WORDS)} -- --${r.pick(WORDS)}`,
  (r, i) => `${i}image: ${r.pick(WORDS)}/${r.pick(WORDS)}:${r.range(1, 20)}.${r.range(0, 9)}`,
  (r, i) => `${i}token: \${{ secrets.${snake(r).toUpperCase()}_TOKEN }}`,
];

const JSONL: LineGen[] = [
  (r, i) => `${i}"${camel(r)}": "${r.pick(WORDS)}-${r.pick(WORDS)}",`,
  (r, i) => `${i}"${camel(r)}": ${r.range(0, 100000)},`,
  (r, i) => `${i}"resolved": "${url(r)}",`,
  (r, i) => `${i}"integrity": "sha512-${r.base64(86)}==",`,
  (r, i) => `${i}"commit": "${r.hex(40)}",`,
  (r, i) => `${i}"id": "${r.hex(8)}-${r.hex(4)}-${r.hex(4)}-${r.hex(4)}-${r.hex(12)}",`,
  (r, i) => `${i}"description": "${sentence(r)}",`,
];

const MD: LineGen[] = [
  (r) => `## ${sentence(r, 2, 5)}`,
  (r) => `${sentence(r, 8, 20)}. ${sentence(r, 6, 16)}.`,
  (r) => `- ${sentence(r, 3, 10)} (see [${r.pick(WORDS)}](${url(r)}))`,
  (r) => `    ${camel(r)} = ${camel(r)}(${r.pick(WORDS)})`,
  () => "",
  (r) => `| \`${camel(r)}\` | ${sentence(r, 2, 6)} | ${r.range(0, 100)} |`,
];

interface Kind {
  ext: string;
  lines: LineGen[];
  /** relative share of files */
  weight: number;
}

const KINDS: Kind[] = [
  { ext: "ts", lines: TS, weight: 45 },
  { ext: "py", lines: PY, weight: 15 },
  { ext: "go", lines: GO, weight: 15 },
  { ext: "yaml", lines: YAML, weight: 7 },
  { ext: "json", lines: JSONL, weight: 8 },
  { ext: "md", lines: MD, weight: 10 },
];
const KIND_TOTAL = KINDS.reduce((a, k) => a + k.weight, 0);

function pickKind(r: Rng): Kind {
  let n = r.int(KIND_TOTAL);
  for (const k of KINDS) {
    n -= k.weight;
    if (n < 0) return k;
  }
  return KINDS[0]!;
}

function kindOf(path: string): Kind {
  const ext = path.slice(path.lastIndexOf(".") + 1);
  return KINDS.find((k) => k.ext === ext) ?? KINDS[0]!;
}

function line(r: Rng, kind: Kind): string {
  const indent = "  ".repeat(r.int(4));
  return kind.lines[r.int(kind.lines.length)]!(r, indent);
}

/** Lines of a new file of about `bytes` bytes. */
function fileLines(r: Rng, kind: Kind, bytes: number): string[] {
  const out: string[] = [];
  let n = 0;
  while (n < bytes) {
    const l = line(r, kind);
    out.push(l);
    n += l.length + 1;
  }
  return out;
}

/** A path like src/order/cache-handler.ts; `taken` keeps them unique. */
function newPath(r: Rng, kind: Kind, dirs: string[], taken: Set<string>): string {
  for (;;) {
    const p = `${r.pick(dirs)}/${r.pick(WORDS)}-${r.pick(WORDS)}${r.chance(0.3) ? `-${r.range(2, 99)}` : ""}.${kind.ext}`;
    if (!taken.has(p)) {
      taken.add(p);
      return p;
    }
  }
}

function makeDirs(r: Rng, n: number): string[] {
  const tops = ["src", "lib", "pkg", "services", "internal", "docs", "config", "test"];
  const dirs = new Set<string>();
  while (dirs.size < n)
    dirs.add(`${r.pick(tops)}/${r.pick(WORDS)}${r.chance(0.4) ? `/${r.pick(WORDS)}` : ""}`);
  return [...dirs];
}

/** File sizes: mostly a few KB, a long tail to ~150 KB (log-uniform between lo and hi). */
function fileSize(r: Rng, lo: number, hi: number): number {
  return Math.round(Math.exp(Math.log(lo) + r.next() * (Math.log(hi) - Math.log(lo))));
}

// ---- the working tree ----

export interface Planted {
  /** index into the secrets the caller supplied */
  secret: number;
  path: string;
  /** 1-based line of the planted text's first line */
  line: number;
}

export interface TreeInfo {
  files: number;
  bytes: number;
  planted: Planted[];
}

/**
 * Write about `targetBytes` of source-like files under `root`, planting each of `secrets` (a whole
 * snippet, possibly multi-line) into a different file at a random line.
 */
export function writeTree(root: string, targetBytes: number, secrets: string[], seed: number): TreeInfo {
  const r = new Rng(seed);
  const dirs = makeDirs(r, 120);
  const taken = new Set<string>();
  const files: { path: string; lines: string[] }[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const kind = pickKind(r);
    const lines = fileLines(r, kind, fileSize(r, 1_500, 150_000));
    const path = newPath(r, kind, dirs, taken);
    files.push({ path, lines });
    for (const l of lines) bytes += l.length + 1;
  }
  const planted: Planted[] = [];
  const used = new Set<number>();
  secrets.forEach((text, secret) => {
    let f: number;
    do f = r.int(files.length);
    while (used.has(f));
    used.add(f);
    const file = files[f]!;
    const at = r.int(file.lines.length + 1);
    file.lines.splice(at, 0, text.replace(/\n$/, ""));
    planted.push({ secret, path: file.path, line: at + 1 });
  });
  bytes = 0;
  for (const file of files) {
    const content = `${file.lines.join("\n")}\n`;
    const abs = join(root, file.path);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    bytes += Buffer.byteLength(content);
  }
  return { files: files.length, bytes, planted };
}

// ---- the history ----

export interface HistoryPlant {
  secret: number;
  path: string;
  branch: string;
  /** fast-import mark of the commit that added it */
  addedMark: number;
  /** mark of the commit that removed it again; undefined when it is still there at the branch tip */
  removedMark?: number;
}

export interface HistoryPlan {
  /** the stream, in pieces (write them in order to `git fast-import`) */
  chunks: Generator<string>;
  /** filled in as the stream is generated */
  plants: HistoryPlant[];
  /** commits on all branches, filled in as the stream is generated */
  commits: () => number;
}

const AUTHORS = [
  "Ada Lovelace <ada@example.org>",
  "Grace Hopper <grace@example.org>",
  "Linus Pauling <linus@example.org>",
  "Katherine Johnson <kj@example.org>",
  "Alan Kay <alan@example.org>",
  "Barbara Liskov <barbara@example.org>",
];

type Files = Map<string, string[]>;

function data(s: string): string {
  return `data ${Buffer.byteLength(s)}\n${s}\n`;
}

/**
 * A history of `mainCommits` commits on main (the first adds `initialFiles` small files) and
 * `sideCommits` on a branch forked near the end. Each commit edits 1–3 files (a few lines changed,
 * added or removed), a new file now and then, a removal now and then. Secret i of `secrets` is added
 * to a file in one commit and, except for the last one on main, removed again 20–400 commits later;
 * the last secret goes on the side branch only.
 */
export function historyStream(
  secrets: string[],
  opts: { mainCommits: number; sideCommits: number; initialFiles: number; seed: number },
): HistoryPlan {
  const plants: HistoryPlant[] = [];
  let count = 0;
  function* gen(): Generator<string> {
    const r = new Rng(opts.seed);
    const dirs = makeDirs(r, 40);
    const taken = new Set<string>();
    let mark = 0;
    let time = 1_600_000_000;
    const main: Files = new Map();
    // A few files get most of the edits, as in any repository.
    let hot: string[] = [];

    function* commit(branch: string, msg: string, changes: string, from?: number) {
      mark++;
      count++;
      time += r.range(60, 7200);
      const who = r.pick(AUTHORS);
      yield `commit refs/heads/${branch}\nmark :${mark}\nauthor ${who} ${time} +0000\ncommitter ${who} ${time} +0000\n${data(msg)}${from ? `from :${from}\n` : ""}${changes}\n`;
    }

    const put = (files: Files, path: string, lines: string[]): string => {
      files.set(path, lines);
      return `M 100644 inline ${path}\n${data(`${lines.join("\n")}\n`)}`;
    };

    const edit = (files: Files, path: string): string => {
      const kind = kindOf(path);
      const lines = [...files.get(path)!];
      const ops = r.range(1, 4);
      for (let k = 0; k < ops; k++) {
        const at = r.int(lines.length + 1);
        const op = r.int(3);
        if (op === 0 && lines.length > 5) lines.splice(at, 1, line(r, kind));
        else if (op === 1 || lines.length <= 5) lines.splice(at, 0, line(r, kind), line(r, kind));
        else lines.splice(at, r.range(1, 2));
      }
      return put(files, path, lines);
    };

    // The initial import.
    let init = "";
    for (let i = 0; i < opts.initialFiles; i++) {
      const kind = pickKind(r);
      const path = newPath(r, kind, dirs, taken);
      init += put(main, path, fileLines(r, kind, fileSize(r, 400, 8_000)));
    }
    yield* commit("main", "Initial import\n", init);

    // Where each secret goes in on main and (for all but the last of them) comes out again.
    const mainSecrets = secrets.length - 1;
    const addAt = new Map<number, number>();
    const removeAt = new Map<number, HistoryPlant>();
    for (let s = 0; s < mainSecrets; s++) {
      let at: number;
      do at = r.range(100, opts.mainCommits - 500);
      while (addAt.has(at) || removeAt.has(at) || addAt.has(at + 1));
      addAt.set(at, s);
    }
    const forkAt = opts.mainCommits - Math.min(1_000, Math.floor(opts.mainCommits / 10));
    let forkFiles: Files | undefined;
    let forkMark = 0;

    for (let c = 2; c <= opts.mainCommits; c++) {
      if (c % 500 === 2) hot = [...main.keys()].filter(() => r.chance(0.1));
      let changes = "";
      let msg = `${sentence(r, 3, 8)}\n`;
      const s = addAt.get(c);
      const plantOut = removeAt.get(c);
      if (s !== undefined) {
        const path = r.pick([...main.keys()]);
        const lines = [...main.get(path)!];
        lines.splice(r.int(lines.length + 1), 0, secrets[s]!.replace(/\n$/, ""));
        changes += put(main, path, lines);
        msg = `Add ${r.pick(WORDS)} settings\n`;
        const p: HistoryPlant = { secret: s, path, branch: "main", addedMark: mark + 1 };
        plants.push(p);
        if (s < mainSecrets - 1) {
          let out: number;
          do out = c + r.range(20, 400);
          while (addAt.has(out) || removeAt.has(out));
          removeAt.set(out, p);
        }
      } else if (plantOut) {
        const text = secrets[plantOut.secret]!.replace(/\n$/, "");
        const lines = main.get(plantOut.path);
        if (lines) {
          const at = lines.indexOf(text);
          if (at >= 0) {
            changes += put(
              main,
              plantOut.path,
              lines.filter((_, k) => k !== at),
            );
            plantOut.removedMark = mark + 1;
            msg = `Remove credentials committed by mistake\n`;
          }
        }
      }
      if (!changes) {
        const planted = new Set(plants.filter((p) => p.removedMark === undefined).map((p) => p.path));
        const editable = (p: string) => !planted.has(p);
        const n = r.chance(0.7) ? 1 : r.range(2, 3);
        const touched = new Set<string>(); // one change per path per commit: no blob left unreferenced
        for (let k = 0; k < n; k++) {
          const pool = hot.length > 0 && r.chance(0.6) ? hot : [...main.keys()];
          const path = r.pick(pool);
          if (editable(path) && main.has(path) && !touched.has(path)) {
            touched.add(path);
            changes += edit(main, path);
          }
        }
        if (r.chance(0.02)) {
          const kind = pickKind(r);
          changes += put(main, newPath(r, kind, dirs, taken), fileLines(r, kind, fileSize(r, 400, 6_000)));
        }
        if (r.chance(0.005) && main.size > 50) {
          const path = r.pick([...main.keys()]);
          if (editable(path) && !touched.has(path)) {
            main.delete(path);
            changes += `D ${path}\n`;
          }
        }
        if (!changes) changes = edit(main, r.pick([...main.keys()].filter(editable)));
      }
      yield* commit("main", msg, changes);
      if (c === forkAt) {
        forkFiles = new Map([...main].map(([p, l]) => [p, [...l]]));
        forkMark = mark;
      }
    }

    // The side branch: forked from main, never merged; the last secret lives only here.
    const side = forkFiles!;
    const sideSecret = secrets.length - 1;
    const sideAt = Math.max(2, Math.floor(opts.sideCommits / 2));
    let sidePlanted: string | undefined;
    for (let c = 1; c <= opts.sideCommits; c++) {
      let changes: string;
      if (c === sideAt) {
        const path = r.pick([...side.keys()]);
        sidePlanted = path;
        const lines = [...side.get(path)!];
        lines.splice(r.int(lines.length + 1), 0, secrets[sideSecret]!.replace(/\n$/, ""));
        changes = put(side, path, lines);
        plants.push({ secret: sideSecret, path, branch: "feature/experiment", addedMark: mark + 1 });
      } else changes = edit(side, r.pick([...side.keys()].filter((p) => p !== sidePlanted)));
      yield* commit("feature/experiment", `${sentence(r, 3, 8)}\n`, changes, c === 1 ? forkMark : undefined);
    }
    yield "done\n";
  }
  return { chunks: gen(), plants, commits: () => count };
}
