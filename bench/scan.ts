/**
 * Scan benchmark: `enclave scan` against git-secrets (Debian's package) on the same data in the
 * same run — a working tree of generated source (~75 MB), a git history of 10,000+ commits built
 * with `git fast-import`, and the labelled corpus (test/scan/corpus) for recall and precision.
 * Everything is timed as a user sees it: wall clock, spawn to exit, enclave run as the `enclave`
 * command (bin/enclave, the launcher npm installs). For context it also prints enclave's fixed cost
 * (`enclave scan --help`: node's start-up, commander and the scan command's module, all that a scan
 * loads before its action runs), its own scan time (stats.ms), the tree scan started as `node
 * dist/src/cli/main.js` (without the launcher), and node's bare start-up (`node -e 0`) with the
 * environment as it is and without NODE_EXTRA_CA_CERTS; the targets compare wall times only.
 *
 *   npm run bench:scan
 *     BENCH_REPS=N          timed repetitions per tool (default 3)
 *     BENCH_TREE_MB=N       size of the working tree in MB (default 75)
 *     BENCH_LARGE_TREE_MB=N size of a second, larger working tree in MB (default 300; 0: none)
 *     BENCH_COMMITS=N       commits on main (default 10000)
 *     BENCH_GS_TIMEOUT=S    limit for one `git secrets --scan-history` (default 240 s)
 *
 * Prints a table and PASS/FAIL for the targets, writes bench/results/scan.json.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Case, CORPUS_FILE, loadCorpus, textOf } from "../test/scan/corpus.js";
import { assertCliBuilt, CLI, LAUNCHER, REPO } from "./lib/cli.js";
import { load1, type MachineInfo, machineInfo } from "./lib/machine.js";
import { writeResults } from "./lib/results.js";
import { killRunning, runStatus, type StatusRun } from "./lib/run-status.js";
import { type HistoryPlant, historyStream, type Planted, writeTree } from "./lib/scan-data.js";
import { type Stats, sampleRuns, summarize } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";

const REPS = Number(process.env.BENCH_REPS) || 3;
const TREE_MB = Number(process.env.BENCH_TREE_MB) || 75;
const LARGE_TREE_MB = Number(process.env.BENCH_LARGE_TREE_MB ?? 300);
const MAIN_COMMITS = Math.max(Number(process.env.BENCH_COMMITS) || 10_000, 2_000);
const SIDE_COMMITS = 200;
const INITIAL_FILES = 300;
const GS_TIMEOUT_S = Number(process.env.BENCH_GS_TIMEOUT) || 240;
/** How many corpus positives (one per rule, in corpus order) are planted in the tree and history. */
const PLANTS = 10;
const SEED = 0x5ca11ed;
const MB = 1e6;
const RESULTS_FILE = join(REPO, "bench/results/scan.json");

// ---- the corpus ----

/** One positive per rule, in corpus order, up to `n`. */
function plantable(cases: Case[], n: number): { rule: string; text: string }[] {
  const seen = new Set<string>();
  const out: { rule: string; text: string }[] = [];
  for (const c of cases) {
    if (c.expect !== "positive" || c.rule === null || seen.has(c.rule)) continue;
    seen.add(c.rule);
    out.push({ rule: c.rule, text: textOf(c) });
    if (out.length === n) break;
  }
  return out;
}

// ---- the tools ----

/**
 * Both tools see the same environment: no user or system git config, no ~/.aws, no enclave home.
 * This node first on PATH, so the launcher (which runs the `node` on PATH) runs the same node as
 * the rows that start it directly.
 */
function toolEnv(scratch: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("GIT_") && !k.startsWith("ENCLAVE_")),
  );
  const home = join(scratch, "home");
  mkdirSync(home, { recursive: true });
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    GIT_CONFIG_NOSYSTEM: "1",
    ENCLAVE_HOME: join(scratch, "enclave-home"),
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
  };
}

async function git(cwd: string, env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<string> {
  return (await runStatus("git", args, { cwd, env, ...(input === undefined ? {} : { input }) })).stdout;
}

/** `git init` and git-secrets' AWS patterns: all that git-secrets has out of the box. */
async function prepareRepo(dir: string, env: NodeJS.ProcessEnv, init = true): Promise<void> {
  if (init) await git(dir, env, ["init", "-q", "-b", "main"]);
  await git(dir, env, ["secrets", "--register-aws"]);
}

interface Finding {
  path: string;
  line: number;
  commit?: string;
  /** git-secrets prints the matching line; enclave never shows a value */
  text?: string;
  ruleId?: string;
}

interface ToolRun {
  ms: number;
  timedOut: boolean;
  findings: Finding[];
}

interface EnclaveJson {
  findings: { ruleId: string; path: string; line: number; commit?: string }[];
  stats: { scanned: number; bytes: number; skippedBinary: number; skippedLarge: number; ms: number };
}

/** `enclave scan`, as the `enclave` command (the launcher), or with `node` straight on the CLI's main module. */
async function enclaveScan(
  dir: string,
  env: NodeJS.ProcessEnv,
  history: boolean,
  via: "launcher" | "node" = "launcher",
): Promise<ToolRun & { stats: EnclaveJson["stats"] }> {
  const args = ["scan", dir, ...(history ? ["--history"] : []), "--format", "json"];
  const r =
    via === "launcher"
      ? await runStatus(LAUNCHER, args, { env, okCodes: [0, 1] })
      : await runStatus(process.execPath, [CLI, ...args], { env, okCodes: [0, 1] });
  const out = JSON.parse(r.stdout) as EnclaveJson;
  return {
    ms: r.ms,
    timedOut: false,
    stats: out.stats,
    findings: out.findings.map((f) => ({
      path: f.path,
      line: f.line,
      ruleId: f.ruleId,
      ...(f.commit ? { commit: f.commit } : {}),
    })),
  };
}

/** git-secrets reports on stderr: `path:line:text` (scan) or `commit:path:line:text` (history). */
function parseGitSecrets(r: StatusRun, history: boolean): Finding[] {
  const re = history ? /^([0-9a-f]{40}):([^:\n]+):(\d+):(.*)$/ : /^([^:\n]+):(\d+):(.*)$/;
  const out: Finding[] = [];
  for (const l of r.stderr.split("\n")) {
    if (l.startsWith("[ERROR]")) break;
    const m = re.exec(l);
    if (!m) continue;
    out.push(
      history
        ? { commit: m[1]!, path: m[2]!, line: Number(m[3]), text: m[4]! }
        : { path: m[1]!, line: Number(m[2]), text: m[3]! },
    );
  }
  return out;
}

async function gitSecretsScan(
  dir: string,
  env: NodeJS.ProcessEnv,
  history: boolean,
  timeoutMs?: number,
): Promise<ToolRun> {
  // --no-index: every file under the folder (not .git), as plain files; tracked or not.
  const args = history ? ["secrets", "--scan-history"] : ["secrets", "--scan", "--no-index"];
  const r = await runStatus("git", args, {
    cwd: dir,
    env,
    okCodes: [0, 1],
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  return { ms: r.ms, timedOut: r.timedOut, findings: r.timedOut ? [] : parseGitSecrets(r, history) };
}

/**
 * `enclave scan --help`: node's start-up and the modules the CLI loads for `scan` before its
 * action runs (commander, the command tree, cli/scan.ts; each command loads only its own group).
 */
const STARTUP_ARGS = ["scan", "--help"];
function enclaveStartup(env: NodeJS.ProcessEnv): Promise<Stats> {
  return sampleRuns(REPS, async () => (await runStatus(LAUNCHER, STARTUP_ARGS, { env })).ms);
}

/**
 * `node -e 0` with the tools' environment, and without NODE_EXTRA_CA_CERTS (node 20 parses that
 * bundle while it starts; the launcher leaves it out for scan): what any node program pays here.
 */
async function nodeStartup(env: NodeJS.ProcessEnv): Promise<{ asIs: Stats; withoutExtraCa: Stats }> {
  const { NODE_EXTRA_CA_CERTS: _, ...without } = env;
  const asIs: number[] = [];
  const withoutExtraCa: number[] = [];
  for (let i = 0; i <= REPS; i++) {
    const a = await runStatus(process.execPath, ["-e", "0"], { env });
    const b = await runStatus(process.execPath, ["-e", "0"], { env: without });
    if (i > 0) {
      asIs.push(a.ms);
      withoutExtraCa.push(b.ms);
    }
  }
  return { asIs: summarize(asIs), withoutExtraCa: summarize(withoutExtraCa) };
}

async function gitSecretsVersion(env: NodeJS.ProcessEnv): Promise<string> {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const r = await runStatus("dpkg-query", ["-W", "-f", "${Version}", "git-secrets"], { env });
    return `git-secrets ${r.stdout.trim()} (Debian package)`;
  } catch {
    return "git-secrets (version unknown)";
  }
}

// ---- data ----

interface TreeData {
  dir: string;
  files: number;
  bytes: number;
  planted: (Planted & { rule: string; lines: string[] })[];
}

async function makeTree(
  scratch: string,
  env: NodeJS.ProcessEnv,
  plants: { rule: string; text: string }[],
  name: string,
  megabytes: number,
): Promise<TreeData> {
  const dir = join(scratch, name);
  mkdirSync(dir);
  const info = writeTree(
    dir,
    megabytes * MB,
    plants.map((p) => p.text),
    SEED,
  );
  await prepareRepo(dir, env);
  return {
    dir,
    files: info.files,
    bytes: info.bytes,
    planted: info.planted.map((p) => ({
      ...p,
      rule: plants[p.secret]!.rule,
      lines: plants[p.secret]!.text.replace(/\n$/, "").split("\n"),
    })),
  };
}

interface HistoryData {
  dir: string;
  commits: number;
  branches: number;
  blobs: number;
  /** bytes of all distinct blobs: the denominator of MB/s for both tools */
  blobBytes: number;
  packBytes: number;
  buildMs: number;
  planted: (HistoryPlant & { rule: string; lines: string[]; addedCommit: string })[];
}

/** Feed the generated stream to `git fast-import`, honouring back-pressure. */
async function fastImport(dir: string, env: NodeJS.ProcessEnv, chunks: Iterable<string>, marks: string) {
  const { spawn } = await import("node:child_process");
  const child = spawn("git", ["fast-import", "--quiet", `--export-marks=${marks}`], {
    cwd: dir,
    env,
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  let batch = "";
  for (const c of chunks) {
    batch += c;
    if (batch.length < 1 << 20) continue;
    if (!child.stdin.write(batch)) await new Promise((r) => child.stdin.once("drain", r));
    batch = "";
  }
  child.stdin.end(batch);
  const code = await closed;
  if (code !== 0) throw new Error(`git fast-import exited ${code}: ${stderr}`);
}

async function makeHistory(
  scratch: string,
  env: NodeJS.ProcessEnv,
  plants: { rule: string; text: string }[],
): Promise<HistoryData> {
  const started = performance.now();
  const dir = join(scratch, "history");
  mkdirSync(dir);
  await git(dir, env, ["init", "-q", "-b", "main"]);
  const plan = historyStream(
    plants.map((p) => p.text),
    { mainCommits: MAIN_COMMITS, sideCommits: SIDE_COMMITS, initialFiles: INITIAL_FILES, seed: SEED },
  );
  const marksFile = join(scratch, "marks");
  await fastImport(dir, env, plan.chunks, marksFile);
  await git(dir, env, ["reset", "-q", "--hard", "main"]);
  await prepareRepo(dir, env, false);
  const buildMs = performance.now() - started;

  const marks = new Map<number, string>();
  for (const l of readFileSync(marksFile, "utf8").split("\n")) {
    const m = /^:(\d+) ([0-9a-f]{40})$/.exec(l);
    if (m) marks.set(Number(m[1]), m[2]!);
  }
  const commits = Number((await git(dir, env, ["rev-list", "--all", "--count"])).trim());
  const branches = (await git(dir, env, ["for-each-ref", "--format=%(refname)", "refs/heads"]))
    .split("\n")
    .filter(Boolean).length;
  let blobs = 0;
  let blobBytes = 0;
  // Blobs reachable from some ref: what a history scan has to cover (fast-import leaves none unreachable).
  const reachable = await git(dir, env, ["rev-list", "--all", "--objects", "--no-object-names"]);
  const objects = await git(dir, env, ["cat-file", "--batch-check=%(objecttype) %(objectsize)"], reachable);
  for (const l of objects.split("\n")) {
    const [type, size] = l.split(" ");
    if (type === "blob") {
      blobs++;
      blobBytes += Number(size);
    }
  }
  const count = await git(dir, env, ["count-objects", "-v"]);
  const packBytes = Number(/size-pack: (\d+)/.exec(count)?.[1] ?? 0) * 1024;
  return {
    dir,
    commits,
    branches,
    blobs,
    blobBytes,
    packBytes,
    buildMs,
    planted: plan.plants.map((p) => ({
      ...p,
      rule: plants[p.secret]!.rule,
      lines: plants[p.secret]!.text.replace(/\n$/, "").split("\n"),
      addedCommit: marks.get(p.addedMark)!,
    })),
  };
}

// ---- planted credentials found ----

type Tool = "enclave" | "git-secrets";
const TOOLS: Tool[] = ["enclave", "git-secrets"];

/** A planted snippet is found when a finding points into its lines (enclave) or quotes one (git-secrets). */
function treePlantFound(p: TreeData["planted"][number], findings: Finding[]): boolean {
  return findings.some(
    (f) =>
      f.path === p.path &&
      (f.text !== undefined
        ? p.lines.includes(f.text)
        : f.line >= p.line && f.line < p.line + p.lines.length),
  );
}

/** enclave names the commit that introduced the blob; git-secrets quotes the line in some commit. */
function historyPlantFound(p: HistoryData["planted"][number], findings: Finding[]): boolean {
  return findings.some(
    (f) =>
      f.path === p.path && (f.text !== undefined ? p.lines.includes(f.text) : f.commit === p.addedCommit),
  );
}

// ---- throughput ----

interface Measured {
  tool: Tool;
  runs: number;
  /** null when the first run already hit the time limit (then it is not repeated) */
  time: Stats | null;
  timedOut: boolean;
  timeoutS?: number;
  /** of the last completed run; null when none completed */
  findings: number | null;
  plantedFound: number | null;
  planted: number;
}

interface Comparison {
  what: "working tree" | "large working tree" | "history";
  bytes: number;
  enclave: Measured;
  gitSecrets: Measured;
  /** enclave's median time over git-secrets' (below 1: enclave faster); null if git-secrets timed out */
  timeRatio: number | null;
  /** when git-secrets timed out: enclave's median over the limit, an upper bound of the real ratio */
  timeRatioBound: number | null;
  enclaveStats: EnclaveJson["stats"];
  /** enclave's own stats.ms: the scan without node's start-up and the CLI's module loading */
  enclaveScanMs: Stats;
  /** for context, when measured: enclave started as `node dist/src/cli/main.js` (no launcher) */
  enclaveWithoutLauncher: Stats | null;
}

function measured(tool: Tool, runs: ToolRun[], planted: number, found: (r: ToolRun) => number): Measured {
  const done = runs.filter((r) => !r.timedOut);
  const last = done.at(-1);
  return {
    tool,
    runs: runs.length,
    time: done.length > 0 ? summarize(done.map((r) => r.ms)) : null,
    timedOut: runs.some((r) => r.timedOut),
    findings: last ? last.findings.length : null,
    plantedFound: last ? found(last) : null,
    planted,
  };
}

/**
 * One untimed warm-up of each tool (the page cache, node's compile cache), then REPS runs of each,
 * alternating, so drift touches both. A git-secrets run that hits its time limit is not repeated.
 * `runEnclaveWithoutLauncher`, when given, is timed in the same rounds, for context only.
 */
async function compare(
  what: Comparison["what"],
  bytes: number,
  planted: number,
  runEnclave: () => Promise<ToolRun & { stats: EnclaveJson["stats"] }>,
  runGitSecrets: (timeoutMs: number) => Promise<ToolRun>,
  found: (r: ToolRun) => number,
  warmGitSecrets: boolean,
  runEnclaveWithoutLauncher?: () => Promise<ToolRun>,
): Promise<Comparison> {
  const limit = GS_TIMEOUT_S * 1000;
  await runEnclave();
  const gsRuns: ToolRun[] = [];
  if (warmGitSecrets) await runGitSecrets(limit);
  const enRuns: (ToolRun & { stats: EnclaveJson["stats"] })[] = [];
  const withoutLauncher: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const e = await runEnclave();
    enRuns.push(e);
    progress(`${what}: enclave ${(e.ms / 1000).toFixed(2)} s`);
    if (runEnclaveWithoutLauncher) {
      const n = await runEnclaveWithoutLauncher();
      withoutLauncher.push(n.ms);
      progress(`${what}: enclave without the launcher ${(n.ms / 1000).toFixed(2)} s`);
    }
    if (!gsRuns.some((r) => r.timedOut)) {
      const g = await runGitSecrets(limit);
      gsRuns.push(g);
      progress(
        `${what}: git-secrets ${g.timedOut ? `> ${GS_TIMEOUT_S} s (timed out)` : `${(g.ms / 1000).toFixed(2)} s`}`,
      );
    }
  }
  const enclave = measured("enclave", enRuns, planted, found);
  const gitSecrets = measured("git-secrets", gsRuns, planted, found);
  if (gitSecrets.timedOut) gitSecrets.timeoutS = GS_TIMEOUT_S;
  const e = enclave.time!.median;
  return {
    what,
    bytes,
    enclave,
    gitSecrets,
    timeRatio: gitSecrets.timedOut || !gitSecrets.time ? null : e / gitSecrets.time.median,
    timeRatioBound: gitSecrets.timedOut ? e / limit : null,
    enclaveStats: enRuns.at(-1)!.stats,
    enclaveScanMs: summarize(enRuns.map((r) => r.stats.ms)),
    enclaveWithoutLauncher: withoutLauncher.length > 0 ? summarize(withoutLauncher) : null,
  };
}

// ---- recall on the corpus ----

interface CorpusTool {
  tool: Tool;
  positives: number;
  detected: number;
  /** enclave only: detected by the rule the case is labelled with */
  detectedByItsRule?: number;
  negatives: number;
  flaggedNegatives: number;
  recall: number;
  precision: number;
  ms: number;
}

interface CorpusResult {
  cases: number;
  perTool: Record<Tool, CorpusTool>;
  perRule: {
    rule: string;
    positives: number;
    negatives: number;
    found: Record<Tool, number>;
    flagged: Record<Tool, number>;
  }[];
}

async function corpusRecall(scratch: string, env: NodeJS.ProcessEnv, cases: Case[]): Promise<CorpusResult> {
  const dir = join(scratch, "corpus");
  mkdirSync(dir);
  const names = cases.map((c, i) => `${String(i + 1).padStart(3, "0")}-${c.rule ?? "plain"}-${c.expect}.txt`);
  cases.forEach((c, i) => {
    const t = textOf(c);
    writeFileSync(join(dir, names[i]!), t.endsWith("\n") ? t : `${t}\n`);
  });
  await prepareRepo(dir, env);
  const en = await enclaveScan(dir, env, false);
  const gs = await gitSecretsScan(dir, env, false);
  const hits: Record<Tool, Set<string>> = {
    enclave: new Set(en.findings.map((f) => f.path)),
    "git-secrets": new Set(gs.findings.map((f) => f.path)),
  };
  const byItsRule = new Set(
    en.findings.filter((f) => f.ruleId === cases[names.indexOf(f.path)]?.rule).map((f) => f.path),
  );
  const ms: Record<Tool, number> = { enclave: en.ms, "git-secrets": gs.ms };
  const perTool = Object.fromEntries(
    TOOLS.map((tool) => {
      let detected = 0;
      let flagged = 0;
      let ownRule = 0;
      cases.forEach((c, i) => {
        const hit = hits[tool].has(names[i]!);
        if (c.expect === "positive" && hit) detected++;
        if (c.expect === "positive" && byItsRule.has(names[i]!)) ownRule++;
        if (c.expect === "negative" && hit) flagged++;
      });
      const positives = cases.filter((c) => c.expect === "positive").length;
      const negatives = cases.length - positives;
      const row: CorpusTool = {
        tool,
        positives,
        detected,
        ...(tool === "enclave" ? { detectedByItsRule: ownRule } : {}),
        negatives,
        flaggedNegatives: flagged,
        recall: positives ? detected / positives : 1,
        precision: detected + flagged ? detected / (detected + flagged) : 1,
        ms: ms[tool],
      };
      return [tool, row];
    }),
  ) as Record<Tool, CorpusTool>;
  const rules = [...new Set(cases.map((c) => c.rule ?? "(none)"))];
  const perRule = rules.map((rule) => {
    const idx = cases.map((c, i) => ({ c, i })).filter(({ c }) => (c.rule ?? "(none)") === rule);
    const count = (tool: Tool, expect: Case["expect"]) =>
      idx.filter(({ c, i }) => c.expect === expect && hits[tool].has(names[i]!)).length;
    return {
      rule,
      positives: idx.filter(({ c }) => c.expect === "positive").length,
      negatives: idx.filter(({ c }) => c.expect === "negative").length,
      found: { enclave: count("enclave", "positive"), "git-secrets": count("git-secrets", "positive") },
      flagged: { enclave: count("enclave", "negative"), "git-secrets": count("git-secrets", "negative") },
    };
  });
  return { cases: cases.length, perTool, perRule };
}

// ---- output ----

function progress(s: string): void {
  process.stderr.write(`  … ${s}\n`);
}

const secs = (ms: number) => (ms / 1000).toFixed(2);

function timeCell(m: Measured): string {
  if (!m.time) return `> ${m.timeoutS} s (timed out)`;
  const t = m.time;
  const cell = `${secs(t.median)} (${secs(t.min)}–${secs(t.max)})`;
  return m.timedOut ? `${cell}; then > ${m.timeoutS} s (timed out)` : cell;
}

function rateCell(bytes: number, m: Measured): string {
  if (!m.time) return `< ${(bytes / MB / m.timeoutS!).toFixed(2)}`;
  return (bytes / MB / (m.time.median / 1000)).toFixed(1);
}

function ratioCell(c: Comparison): string {
  if (c.timeRatio !== null) return `${c.timeRatio.toFixed(2)}×`;
  if (c.timeRatioBound !== null) return `< ${c.timeRatioBound.toFixed(3)}×`;
  return "—";
}

function throughputTable(cs: Comparison[]): string {
  const rows: string[][] = [];
  for (const c of cs)
    for (const m of [c.enclave, c.gitSecrets])
      rows.push([
        c.what,
        m.tool,
        (c.bytes / MB).toFixed(1),
        timeCell(m),
        rateCell(c.bytes, m),
        m === c.enclave ? ratioCell(c) : "",
        m.findings === null ? "—" : String(m.findings),
        m.plantedFound === null ? "—" : `${m.plantedFound}/${m.planted}`,
      ]);
  return renderTable(
    [
      "scan",
      "tool",
      "MB",
      "wall s, median (min–max)",
      "MB/s",
      "enclave ÷ git-secrets",
      "findings",
      "planted found",
    ],
    rows,
  );
}

function corpusTable(r: CorpusResult): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  return renderTable(
    ["tool", "positives found", "recall", "negatives flagged", "precision"],
    TOOLS.map((t) => {
      const s = r.perTool[t];
      return [
        t,
        `${s.detected}/${s.positives}${s.detectedByItsRule !== undefined ? ` (by its own rule: ${s.detectedByItsRule})` : ""}`,
        pct(s.recall),
        `${s.flaggedNegatives}/${s.negatives}`,
        pct(s.precision),
      ];
    }),
  );
}

function perRuleTable(r: CorpusResult): string {
  return renderTable(
    ["rule", "positives", "enclave", "git-secrets", "negatives", "enclave flags", "git-secrets flags"],
    r.perRule.map((x) => [
      x.rule,
      String(x.positives),
      String(x.found.enclave),
      String(x.found["git-secrets"]),
      String(x.negatives),
      String(x.flagged.enclave),
      String(x.flagged["git-secrets"]),
    ]),
  );
}

interface Target {
  name: string;
  pass: boolean;
  detail: string;
}

function targets(cs: Comparison[], corpus: CorpusResult): Target[] {
  const out: Target[] = cs.map((c) => {
    const e = c.enclave.time!.median;
    const g = c.gitSecrets.time?.median;
    const pass = c.gitSecrets.timedOut ? e < GS_TIMEOUT_S * 1000 : g !== undefined && e < g;
    return {
      name: `faster than git-secrets, ${c.what}`,
      pass,
      detail: `enclave ${rateCell(c.bytes, c.enclave)} MB/s vs git-secrets ${rateCell(c.bytes, c.gitSecrets)} MB/s`,
    };
  });
  const e = corpus.perTool.enclave;
  const g = corpus.perTool["git-secrets"];
  out.push({
    name: "higher recall than git-secrets on the labelled corpus",
    pass: e.recall > g.recall,
    detail: `enclave ${(e.recall * 100).toFixed(1)}% vs git-secrets ${(g.recall * 100).toFixed(1)}%`,
  });
  return out;
}

function report(r: {
  machine: MachineInfo;
  gitSecrets: string;
  gitVersion: string;
  tree: TreeData;
  largeTree?: TreeData;
  history: HistoryData;
  comparisons: Comparison[];
  startup: Stats;
  nodeStartup: { asIs: Stats; withoutExtraCa: Stats };
  corpus: CorpusResult;
  targets: Target[];
  elapsedSeconds: number;
  loadAverageAtEnd: number;
}): string {
  const m = r.machine;
  const h = r.history;
  const tree = r.comparisons.find((c) => c.what === "working tree")!;
  const hist = r.comparisons.find((c) => c.what === "history")!;
  const mb = (b: number) => (b / MB).toFixed(1);
  return [
    `enclave scan benchmark — ${m.cpus} × ${m.model}, node ${m.node}, ${m.platform}`,
    `peer: ${r.gitSecrets}, ${r.gitVersion}; patterns: only those of \`git secrets --register-aws\` —`,
    "  git-secrets has no other built-in patterns, so that is what a user gets out of the box",
    `working tree: ${r.tree.files.toLocaleString("en-US")} generated source files (ts, py, go, yaml, json, md), ` +
      `${mb(r.tree.bytes)} MB, ${r.tree.planted.length} corpus positives planted`,
    ...(r.largeTree
      ? [
          `large working tree: the same generator, ${r.largeTree.files.toLocaleString("en-US")} files, ${mb(r.largeTree.bytes)} MB ` +
            "(where enclave's fixed start-up weighs less, and a helper thread joins a scan that turns out long)",
        ]
      : []),
    `  enclave scan DIR --format json   vs   git secrets --scan --no-index (run in DIR: git grep over every file)`,
    `history: ${h.commits.toLocaleString("en-US")} commits on ${h.branches} branches (git fast-import, built in ` +
      `${(h.buildMs / 1000).toFixed(1)} s), ${h.blobs.toLocaleString("en-US")} distinct blobs = ${mb(h.blobBytes)} MB ` +
      `(pack ${mb(h.packBytes)} MB), ${h.planted.length} corpus positives planted (${h.planted.filter((p) => p.removedMark).length} later removed, 1 on a side branch only)`,
    `  enclave scan REPO --history --format json   vs   git secrets --scan-history (limit ${GS_TIMEOUT_S} s)`,
    "  MB/s for both = distinct blob bytes ÷ wall time; enclave reads each blob once, git-secrets runs",
    "  `git log --all -G<patterns>` over every commit's diff, then `git grep` over the whole tree of each match",
    `times: wall clock spawn to exit (node start-up included), median (min–max) of ${REPS} runs per tool, ` +
      "alternating, after one warm-up each; MB = 10^6 bytes; ratio below 1: enclave faster",
    "",
    throughputTable(r.comparisons),
    "",
    `enclave's own count: tree ${tree.enclaveStats.scanned} files / ${mb(tree.enclaveStats.bytes)} MB, ` +
      `history ${hist.enclaveStats.scanned} blobs / ${mb(hist.enclaveStats.bytes)} MB ` +
      `(skipped: ${hist.enclaveStats.skippedBinary} binary, ${hist.enclaveStats.skippedLarge} too large)`,
    `where enclave's wall time goes: \`enclave scan --help\` (node start-up, the CLI and the scan command's module) ` +
      `${secs(r.startup.median)} s; the scan itself (its stats.ms, median) tree ${secs(tree.enclaveScanMs.median)} s, ` +
      `history ${secs(hist.enclaveScanMs.median)} s`,
    `node's own start-up here (\`node -e 0\`, median): ${secs(r.nodeStartup.asIs.median)} s with the environment as it is` +
      (process.env.NODE_EXTRA_CA_CERTS === undefined
        ? ""
        : `, ${secs(r.nodeStartup.withoutExtraCa.median)} s without NODE_EXTRA_CA_CERTS (set here: node 20 parses its ` +
          "certificates while it starts; the launcher leaves it out for `enclave scan`)"),
    ...(tree.enclaveWithoutLauncher
      ? [
          `the tree scan started as \`node dist/src/cli/main.js\` (no launcher), same rounds: ` +
            `${secs(tree.enclaveWithoutLauncher.median)} s (${secs(tree.enclaveWithoutLauncher.min)}–` +
            `${secs(tree.enclaveWithoutLauncher.max)}), ${(tree.enclaveWithoutLauncher.median / tree.gitSecrets.time!.median).toFixed(2)}× git-secrets`,
        ]
      : []),
    "findings: enclave one per secret per file (history: per distinct blob, so a planted secret that lives on",
    "  through later edits of its file is reported in each new blob); git-secrets one per matching line (history:",
    "  per commit it greps); in the tree, findings beyond the planted ones are false positives on generated code",
    "",
    `labelled corpus: ${r.corpus.cases} cases from test/scan/corpus/cases.json, one file each, both tools over ` +
      "the folder; a positive counts as found when its file has any finding, a negative as flagged likewise",
    corpusTable(r.corpus),
    "",
    perRuleTable(r.corpus),
    "",
    "targets:",
    ...r.targets.map((t) => `  ${t.pass ? "PASS" : "FAIL"}  ${t.name}: ${t.detail}`),
    "",
    `finished in ${r.elapsedSeconds.toFixed(0)} s; 1-min load average ${m.loadAverageAtStart} at start, ` +
      `${r.loadAverageAtEnd} at end; JSON: ${RESULTS_FILE}`,
  ].join("\n");
}

// ---- main ----

async function main(): Promise<void> {
  const started = performance.now();
  assertCliBuilt();
  if (!existsSync("/usr/bin/git-secrets"))
    throw new Error("git-secrets is missing: apt-get install git-secrets");
  const machine = machineInfo();
  const scratch = mkdtempSync(join(tmpdir(), "enclave-bench-scan-"));
  const cleanup = () => {
    killRunning();
    rmSync(scratch, { recursive: true, force: true });
  };
  process.once("exit", cleanup);
  for (const signal of ["SIGINT", "SIGTERM"] as const)
    process.once(signal, () => {
      cleanup();
      process.exit(128 + constants.signals[signal]);
    });
  try {
    const env = toolEnv(scratch);
    const cases = loadCorpus();
    const plants = plantable(cases, PLANTS);
    if (plants.length < 2) throw new Error(`${CORPUS_FILE}: too few positives to plant`);

    progress(`generating a ${TREE_MB} MB working tree`);
    const tree = await makeTree(scratch, env, plants, "tree", TREE_MB);
    progress(`generating a history of ${MAIN_COMMITS + SIDE_COMMITS} commits with git fast-import`);
    const history = await makeHistory(scratch, env, plants);
    if (history.commits < 10_000 && MAIN_COMMITS >= 10_000)
      throw new Error(`history has only ${history.commits} commits`);

    /** The two tools over a working tree (and, for context, enclave without its launcher). */
    const compareTree = (what: Comparison["what"], t: TreeData, alsoWithoutLauncher: boolean) =>
      compare(
        what,
        t.bytes,
        t.planted.length,
        () => enclaveScan(t.dir, env, false),
        (limit) => gitSecretsScan(t.dir, env, false, limit),
        (r) => t.planted.filter((p) => treePlantFound(p, r.findings)).length,
        true,
        alsoWithoutLauncher ? () => enclaveScan(t.dir, env, false, "node") : undefined,
      );
    const treeCmp = await compareTree("working tree", tree, true);
    let large: TreeData | undefined;
    let largeCmp: Comparison | undefined;
    if (LARGE_TREE_MB > 0) {
      progress(`generating a ${LARGE_TREE_MB} MB working tree`);
      large = await makeTree(scratch, env, plants, "large-tree", LARGE_TREE_MB);
      largeCmp = await compareTree("large working tree", large, false);
      rmSync(large.dir, { recursive: true, force: true });
    }
    const historyCmp = await compare(
      "history",
      history.blobBytes,
      history.planted.length,
      () => enclaveScan(history.dir, env, true),
      (limit) => gitSecretsScan(history.dir, env, true, limit),
      (r) => history.planted.filter((p) => historyPlantFound(p, r.findings)).length,
      false,
    );
    progress("enclave start-up");
    const startup = await enclaveStartup(env);
    progress("node start-up");
    const node = await nodeStartup(env);
    progress("labelled corpus");
    const corpus = await corpusRecall(scratch, env, cases);
    const comparisons = [treeCmp, ...(largeCmp ? [largeCmp] : []), historyCmp];
    const checks = targets(comparisons, corpus);
    const gitVersion = (await git(scratch, env, ["--version"])).trim();
    const out = {
      machine,
      gitSecrets: await gitSecretsVersion(env),
      gitVersion,
      tree,
      ...(large ? { largeTree: large } : {}),
      history,
      comparisons,
      startup,
      nodeStartup: node,
      corpus,
      targets: checks,
      elapsedSeconds: (performance.now() - started) / 1000,
      loadAverageAtEnd: load1(),
    };
    // No folder names (removed by now) and no planted text (credential-shaped) in the JSON.
    const strip = <P extends { lines: string[] }, T extends { dir: string; planted: P[] }>(x: T) => {
      const { dir: _dir, planted, ...rest } = x;
      return { ...rest, planted: planted.map(({ lines: _lines, ...p }) => p) };
    };
    writeResults(RESULTS_FILE, {
      settings: {
        reps: REPS,
        treeMB: TREE_MB,
        largeTreeMB: LARGE_TREE_MB,
        mainCommits: MAIN_COMMITS,
        sideCommits: SIDE_COMMITS,
        initialFiles: INITIAL_FILES,
        gitSecretsTimeoutS: GS_TIMEOUT_S,
        seed: SEED,
        gitSecretsPatterns: "git secrets --register-aws (its only built-in patterns)",
        startupCommand: `enclave ${STARTUP_ARGS.join(" ")}`,
      },
      ...out,
      tree: strip(tree),
      ...(large ? { largeTree: strip(large) } : {}),
      history: strip(history),
    });
    process.stdout.write(`${report(out)}\n`);
  } finally {
    cleanup();
  }
}

await main();
