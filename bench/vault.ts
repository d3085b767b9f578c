/**
 * Vault benchmark: how long unlock, set and lock take for vaults of 10, 1,000 and 10,000
 * secrets, in-process (VaultService) and through the built CLI, with the KDF separated out; and
 * what the KDF costs next to OWASP's recommendations.
 *
 *   npm run bench:vault          (BENCH_REPS=N to change the 5 repetitions)
 *
 * Prints tables and writes bench/results/vault.json.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { wipe } from "../src/secure/buffers.js";
import { VaultContents } from "../src/vault/contents.js";
import { DEFAULT_KDF, describeKdf, type KdfParams, kdfMemoryBytes } from "../src/vault/kdf.js";
import { closeVault, newKeyMaterial, type OpenVault, saveVault } from "../src/vault/open-vault.js";
import { VaultService } from "../src/vault/service.js";
import { assertCliBuilt, CLI, REPO, runCli, runNode } from "./lib/cli.js";
import { compareKdfs, type KdfComparisonRow, timeDerivation } from "./lib/kdf-compare.js";
import { load1, type MachineInfo, machineInfo } from "./lib/machine.js";
import { writeResults } from "./lib/results.js";
import { makeSandbox, randomPassphrase, type Sandbox } from "./lib/sandbox.js";
import { formatMs, formatStats, type Stats, sampleRuns, summarize, timed } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";

/**
 * Folder layouts: "grouped" puts secrets in 100 folders (`team-NN/service-NNNN`), like a real
 * vault; "folder-per-secret" (`svc/NNNN/token`) is the worst case for the RAM directory — one
 * folder to create, read and remove per secret on top of the file itself.
 */
type Layout = "grouped" | "folder-per-secret";
const CASES: { secrets: number; layout: Layout }[] = [
  { secrets: 10, layout: "grouped" },
  { secrets: 1_000, layout: "grouped" },
  { secrets: 10_000, layout: "grouped" },
  { secrets: 10_000, layout: "folder-per-secret" },
];
const REPS = Number(process.env.BENCH_REPS) || 5;
const VALUE_BYTES = 64;
/** The secret `set` adds; a fresh name, so every set creates a file and grows the vault. */
const NEW_SECRET = "svc/new/token";
const TARGET = { ms: 200, secrets: 10_000 };
const RESULTS_FILE = join(REPO, "bench/results/vault.json");

// ---- the vault under test ----

interface PreparedVault {
  sandbox: Sandbox;
  secrets: number;
  vaultFile: string;
  /** The vault as first written: restored before each cycle so every cycle starts identical. */
  bytes: Buffer;
  salt: Buffer;
  kdf: KdfParams;
}

function secretName(i: number, layout: Layout): string {
  const n = String(i).padStart(4, "0");
  return layout === "grouped" ? `team-${String(i % 100).padStart(2, "0")}/service-${n}` : `svc/${n}/token`;
}

/**
 * Write a vault of `n` secrets with one KDF run. Records go straight into the map: these names
 * are valid and cannot clash, so the per-set checks would only slow the set-up.
 */
async function prepareVault(n: number, layout: Layout): Promise<PreparedVault> {
  const sandbox = makeSandbox(`n${n}`);
  const { store } = new VaultService({ env: sandbox.env });
  const now = Date.now();
  const contents = VaultContents.create(now);
  for (let i = 0; i < n; i++)
    contents.secrets.set(secretName(i, layout), {
      value: randomBytes(VALUE_BYTES),
      createdAt: now,
      updatedAt: now,
    });
  const v: OpenVault = { contents, ...(await newKeyMaterial(sandbox.passphrase, DEFAULT_KDF)) };
  try {
    await store.withLock(() => saveVault(store, v));
  } finally {
    closeVault(v);
  }
  const { bytes, parsed } = store.read();
  // The KDF is timed with the parameters and salt the vault file actually carries.
  const { salt, kdf } = parsed.header;
  return { sandbox, secrets: n, vaultFile: store.paths.vaultFile, bytes, salt: Buffer.from(salt), kdf };
}

// ---- two ways to drive the vault ----

/** The vault commands as the benchmark uses them, in-process or through the CLI. */
interface Driver {
  unlock(): Promise<{ secrets: number; alreadyUnlocked: boolean }>;
  /** Takes ownership of `value` and wipes it. */
  set(name: string, value: Buffer): Promise<unknown>;
  lock(): Promise<{ wasUnlocked: boolean }>;
}

function libraryDriver(sb: Sandbox): Driver {
  const svc = new VaultService({ env: sb.env });
  return {
    unlock: () => svc.unlock(sb.passphrase),
    set: (name, value) => svc.set(name, value),
    lock: () => svc.lock(),
  };
}

function cliDriver(sb: Sandbox): Driver {
  // --json lets every cycle check that the command really did the work being timed.
  const json = async (args: string[]) => JSON.parse((await runCli([...args, "--json"], sb.env)).stdout);
  return {
    unlock: () => json(["unlock", "--passphrase-file", sb.passFile]),
    set: async (name, value) => {
      try {
        return await runCli(["set", name], sb.env, value);
      } finally {
        wipe(value);
      }
    },
    lock: () => json(["lock"]),
  };
}

// ---- measuring ----

interface CycleTimes {
  kdf: number;
  unlock: number;
  set: number;
  lock: number;
}

interface OpStats {
  kdf: Stats;
  unlock: Stats;
  /** Median of the per-cycle differences: KDF and unlock are timed back to back in each cycle. */
  unlockMinusKdf: Stats;
  set: Stats;
  lock: Stats;
}

/**
 * Restore the vault, time a bare KDF run with its parameters, then unlock, set one new secret and
 * lock. A cycle that did not do the full work (e.g. unlock found the vault already open and
 * skipped writing the files) would time the wrong thing, so it fails the benchmark.
 */
async function runCycle(driver: Driver, vault: PreparedVault): Promise<CycleTimes> {
  writeFileSync(vault.vaultFile, vault.bytes);
  const kdf = await timeDerivation(vault.sandbox.passphrase, vault.salt, vault.kdf);
  const unlock = await timed(() => driver.unlock());
  if (unlock.result.alreadyUnlocked || unlock.result.secrets !== vault.secrets)
    throw new Error(
      `unlock opened ${unlock.result.secrets} of ${vault.secrets} secrets (or was already open)`,
    );
  const set = await timed(() => driver.set(NEW_SECRET, randomBytes(VALUE_BYTES)));
  const lock = await timed(() => driver.lock());
  if (!lock.result.wasUnlocked) throw new Error("lock found no unlocked session");
  return { kdf, unlock: unlock.ms, set: set.ms, lock: lock.ms };
}

/** One untimed warm-up cycle, then REPS timed ones (as sampleRuns, for four timings at once). */
async function measureDriver(driver: Driver, vault: PreparedVault): Promise<OpStats> {
  await runCycle(driver, vault);
  const cycles: CycleTimes[] = [];
  for (let i = 0; i < REPS; i++) cycles.push(await runCycle(driver, vault));
  const of = (f: (c: CycleTimes) => number) => summarize(cycles.map(f));
  return {
    kdf: of((c) => c.kdf),
    unlock: of((c) => c.unlock),
    unlockMinusKdf: of((c) => c.unlock - c.kdf),
    set: of((c) => c.set),
    lock: of((c) => c.lock),
  };
}

interface SizeResult {
  secrets: number;
  layout: Layout;
  vaultFileBytes: number;
  library: OpStats;
  cli: OpStats;
}

async function measureSize(n: number, layout: Layout): Promise<SizeResult> {
  const vault = await prepareVault(n, layout);
  try {
    return {
      secrets: n,
      layout,
      vaultFileBytes: vault.bytes.length,
      library: await measureDriver(libraryDriver(vault.sandbox), vault),
      cli: await measureDriver(cliDriver(vault.sandbox), vault),
    };
  } finally {
    vault.sandbox.cleanup();
  }
}

/**
 * What every CLI command pays before doing any work: node itself (`node -e 0`), and node plus
 * loading enclave's modules (`enclave --version`).
 */
function measureStartup(args: string[]): Promise<Stats> {
  return sampleRuns(REPS, async () => (await runNode(args, process.env)).ms);
}

// ---- the target ----

type Path = "library" | "cli";

interface TargetCheck {
  pass: boolean;
  /** Median milliseconds of each operation that counts against the target. */
  medians: { unlockMinusKdf: number; set: number; lock: number };
}

/** Each of unlock-minus-KDF, set and lock, by its median, must stay under the limit. */
function checkTarget(sizes: SizeResult[], path: Path): TargetCheck {
  const at = sizes.find((s) => s.secrets === TARGET.secrets && s.layout === "grouped");
  if (!at) throw new Error(`no measurement at ${TARGET.secrets} secrets`);
  const ops = at[path];
  const medians = { unlockMinusKdf: ops.unlockMinusKdf.median, set: ops.set.median, lock: ops.lock.median };
  return { pass: Object.values(medians).every((ms) => ms < TARGET.ms), medians };
}

// ---- output ----

function operationsTable(sizes: SizeResult[], path: Path): string {
  return renderTable(
    ["secrets", "layout", "unlock", "KDF alone", "unlock − KDF", "set", "lock"],
    sizes.map((s) => {
      const o = s[path];
      return [
        s.secrets.toLocaleString("en-US"),
        s.layout,
        ...[o.unlock, o.kdf, o.unlockMinusKdf, o.set, o.lock].map(formatStats),
      ];
    }),
  );
}

function kdfTable(rows: KdfComparisonRow[]): string {
  return renderTable(
    ["configuration", "parameters", "memory", "time ms", "default ÷ this", "floor ÷ this"],
    rows.map((r) => [
      r.label,
      r.kdf,
      `${r.memoryMiB.toFixed(0)} MiB`,
      formatStats(r.time),
      `${r.defaultRatio.toFixed(2)}×`,
      `${r.floorRatio.toFixed(2)}×`,
    ]),
  );
}

function targetLine(path: Path, t: TargetCheck): string {
  const m = t.medians;
  return (
    `  ${path.padEnd(8)} ${t.pass ? "PASS" : "FAIL"}  ` +
    `(unlock − KDF ${formatMs(m.unlockMinusKdf)}, set ${formatMs(m.set)}, lock ${formatMs(m.lock)} ms)`
  );
}

function report(r: {
  machine: MachineInfo;
  sizes: SizeResult[];
  startup: { node: Stats; enclave: Stats };
  kdf: KdfComparisonRow[];
  target: Record<Path, TargetCheck>;
  elapsedSeconds: number;
  loadAverageAtEnd: number;
}): string {
  const m = r.machine;
  return [
    `enclave vault benchmark — ${m.cpus} × ${m.model}, node ${m.node}, ${m.platform}`,
    `default KDF: ${describeKdf(DEFAULT_KDF)}, ${kdfMemoryBytes(DEFAULT_KDF) / 1048576} MiB per derivation`,
    `times in ms: median (min–max) of ${REPS} cycles after one warm-up; values ${VALUE_BYTES} random bytes`,
    "a cycle: time the KDF alone, unlock, set one new secret, lock (nothing left to save);",
    "unlock − KDF is the median of per-cycle differences, so a few ms either way is noise",
    "",
    "In-process (VaultService):",
    operationsTable(r.sizes, "library"),
    "",
    "CLI wall time, spawn to exit (node dist/src/cli/main.js):",
    `  start-up alone: node -e 0 ${formatStats(r.startup.node)}, enclave --version ${formatStats(r.startup.enclave)}`,
    operationsTable(r.sizes, "cli"),
    "",
    "KDF against OWASP Password Storage Cheat Sheet (same code, same run):",
    kdfTable(r.kdf),
    "",
    `target: everything but the KDF under ${TARGET.ms} ms at ${TARGET.secrets.toLocaleString("en-US")} secrets, ` +
      "grouped layout (unlock − KDF, set and lock each, by median):",
    targetLine("library", r.target.library),
    targetLine("cli", r.target.cli),
    "",
    `finished in ${r.elapsedSeconds.toFixed(0)} s; 1-min load average ${m.loadAverageAtStart} at start, ` +
      `${r.loadAverageAtEnd} at end (this run adds about 1); JSON: ${RESULTS_FILE}`,
  ].join("\n");
}

async function main(): Promise<void> {
  const started = performance.now();
  assertCliBuilt();
  const machine = machineInfo();
  const passphrase = randomPassphrase();
  let kdf: KdfComparisonRow[];
  try {
    kdf = await compareKdfs(passphrase, REPS);
  } finally {
    wipe(passphrase);
  }
  const startup = {
    node: await measureStartup(["-e", "0"]),
    enclave: await measureStartup([CLI, "--version"]),
  };
  const sizes: SizeResult[] = [];
  for (const c of CASES) sizes.push(await measureSize(c.secrets, c.layout));
  const target = { library: checkTarget(sizes, "library"), cli: checkTarget(sizes, "cli") };
  const elapsedSeconds = (performance.now() - started) / 1000;
  const results = { machine, sizes, startup, kdf, target, elapsedSeconds, loadAverageAtEnd: load1() };
  writeResults(RESULTS_FILE, {
    settings: { reps: REPS, valueBytes: VALUE_BYTES, defaultKdf: DEFAULT_KDF, target: TARGET },
    ...results,
  });
  process.stdout.write(`${report(results)}\n`);
}

await main();
