/**
 * Sync benchmark: how long `enclave push` and `enclave pull` take for vaults of ~1 MB and ~50 MB
 * against moto_server, next to `aws s3 cp` of the same file in the same run — the floor a user
 * would reach by hand. Everything is timed as a user sees it: the CLI's wall clock, spawn to exit.
 *
 *   npm run bench:sync     (BENCH_REPS=N for N cycles at every size; BENCH_AWS=/path/to/aws)
 *
 * Prints a table and writes bench/results/sync.json.
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { type Moto, startMoto } from "../test/helpers/moto.js";
import { type AwsCli, awsCopy, findAwsCli } from "./lib/aws-cli.js";
import { assertCliBuilt, CLI, REPO, runCli, runNode } from "./lib/cli.js";
import { runTimed } from "./lib/exec.js";
import { load1, type MachineInfo, machineInfo } from "./lib/machine.js";
import { writeResults } from "./lib/results.js";
import { makeSandbox, type Sandbox } from "./lib/sandbox.js";
import { formatMs, formatStats, type Stats, sampleRuns, summarize } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";

/** The documented floor: the fastest KDF enclave accepts. Sync never runs the KDF; set-up does. */
const FAST_KDF = "argon2id:m=19456,t=2,p=1";
const VERSIONED_BUCKET = "enclave-bench-versioned";
const UNVERSIONED_BUCKET = "enclave-bench-unversioned";
/** The secret changed before every push, so that each push has a new vault to upload. */
const COUNTER = "bench/counter";
const RESULTS_FILE = join(REPO, "bench/results/sync.json");
const REPS_OVERRIDE = Number(process.env.BENCH_REPS) || undefined;
const MB = 1e6;

interface SizeCase {
  label: string;
  /** Object key prefix, so the sizes never share a remote. */
  slug: string;
  /** The vault holds `pieces` secrets of `pieceBytes` random bytes (incompressible, like ciphertext). */
  pieces: number;
  pieceBytes: number;
  /** Fewer cycles for the large vault keep the whole run within a few minutes. */
  reps: number;
}

const SIZES: SizeCase[] = [
  { label: "1 MB", slug: "1mb", pieces: 4, pieceBytes: 250_000, reps: 5 },
  { label: "50 MB", slug: "50mb", pieces: 5, pieceBytes: 10_000_000, reps: 3 },
];

// ---- what is measured ----

type Op =
  | "push"
  | "pushUnversioned"
  | "pushNothing"
  | "awsUpload"
  | "pullLocked"
  | "pullUnlocked"
  | "pullUpToDate"
  | "awsDownload";

interface OpInfo {
  op: Op;
  label: string;
  tool: "enclave" | "aws";
  /** Whether the vault crosses the wire (no throughput for a command that moves nothing). */
  transfers: boolean;
  /** The `aws s3 cp` it is compared with. */
  peer?: Op;
}

/** Table order: each direction's enclave rows, then the aws row they are compared with. */
const OPS: OpInfo[] = [
  { op: "push", label: "enclave push", tool: "enclave", transfers: true, peer: "awsUpload" },
  {
    op: "pushUnversioned",
    label: "enclave push, unversioned bucket",
    tool: "enclave",
    transfers: true,
    peer: "awsUpload",
  },
  { op: "pushNothing", label: "enclave push, nothing to push", tool: "enclave", transfers: false },
  { op: "awsUpload", label: "aws s3 cp FILE s3://…", tool: "aws", transfers: true },
  { op: "pullLocked", label: "enclave pull, locked", tool: "enclave", transfers: true, peer: "awsDownload" },
  {
    op: "pullUnlocked",
    label: "enclave pull, unlocked",
    tool: "enclave",
    transfers: true,
    peer: "awsDownload",
  },
  {
    op: "pullUpToDate",
    label: "enclave pull, already up to date",
    tool: "enclave",
    transfers: true,
    peer: "awsDownload",
  },
  { op: "awsDownload", label: "aws s3 cp s3://… FILE", tool: "aws", transfers: true },
];

// ---- the homes under test ----

/** One ENCLAVE_HOME (disk) with its runtime dir (tmpfs), reaching moto with dummy keys. */
interface Home {
  sb: Sandbox;
  env: NodeJS.ProcessEnv;
  unlocked: boolean;
}

/**
 * The writer A and D push; B (locked) and C (unlocked) pull what A pushed, each as a fast-forward.
 * D pushes to a bucket without versioning, where every push also writes a history copy.
 */
interface Homes {
  a: Home;
  b: Home;
  c: Home;
  d: Home;
  remote: string;
  unversionedRemote: string;
  /** Where `aws s3 cp` puts its copy: the same bucket, a key of its own. */
  peerUrl: string;
}

/**
 * The caller's AWS settings must not leak in (a profile would override the dummy keys, a config
 * file could change multipart or checksum behaviour), so both tools see only moto's.
 */
function awsEnv(base: NodeJS.ProcessEnv, moto: Moto, scratch: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith("AWS_")));
  const none = join(scratch, "no-aws-config");
  return { ...env, ...moto.env, AWS_CONFIG_FILE: none, AWS_SHARED_CREDENTIALS_FILE: none };
}

function makeHome(tag: string, moto: Moto, scratch: string): Home {
  const sb = makeSandbox(tag);
  return { sb, env: awsEnv(sb.env, moto, scratch), unlocked: false };
}

/** Run `enclave ARGS --json` and return the parsed output with the wall time. */
async function enclaveJson<T>(h: Home, args: string[]): Promise<{ ms: number; out: T }> {
  const r = await runCli([...args, "--json"], h.env);
  return { ms: r.ms, out: JSON.parse(r.stdout) as T };
}

const vaultFile = (h: Home) => join(h.sb.home, "vault.enc");

const enclave = (h: Home, args: string[], input?: Buffer) => runCli(args, h.env, input);

async function unlock(h: Home, passFile: string): Promise<void> {
  await enclave(h, ["unlock", "--passphrase-file", passFile]);
  h.unlocked = true;
}

/** A new value for the counter secret: the vault is re-encrypted, so the next push has work. */
const bump = (h: Home) => enclave(h, ["set", COUNTER], randomBytes(16));

/**
 * Fill A's vault with random secrets through the CLI, as a user would (`set --from-file`). The
 * source files live on tmpfs next to the passphrase and are removed as soon as they are stored.
 */
async function fillVault(a: Home, size: SizeCase): Promise<void> {
  const shm = dirname(a.sb.passFile);
  for (let i = 0; i < size.pieces; i++) {
    const file = join(shm, `piece-${i}`);
    writeFileSync(file, randomBytes(size.pieceBytes), { mode: 0o600 });
    try {
      await enclave(a, ["set", `bench/piece-${i}`, "--from-file", file]);
    } finally {
      rmSync(file, { force: true });
    }
  }
  await bump(a);
}

function expectStatus(what: string, got: { status: string }, want: string): void {
  if (got.status !== want) throw new Error(`${what}: expected status "${want}", got "${got.status}"`);
}

async function prepareHomes(size: SizeCase, moto: Moto, scratch: string): Promise<Homes> {
  const key = `${size.slug}/vault.enc`;
  const remote = `s3://${VERSIONED_BUCKET}/${key}`;
  const unversionedRemote = `s3://${UNVERSIONED_BUCKET}/${key}`;
  const a = makeHome(`${size.slug}-a`, moto, scratch);
  const b = makeHome(`${size.slug}-b`, moto, scratch);
  const c = makeHome(`${size.slug}-c`, moto, scratch);
  const d = makeHome(`${size.slug}-d`, moto, scratch);
  const homes = { a, b, c, d, remote, unversionedRemote, peerUrl: `s3://${VERSIONED_BUCKET}/peer/${key}` };
  // A: a new vault, filled, pushed once (the first push is unconditional-create, not measured).
  await enclave(a, ["init", "--kdf", FAST_KDF, "--passphrase-file", a.sb.passFile]);
  await unlock(a, a.sb.passFile);
  await fillVault(a, size);
  await enclave(a, ["remote", "set", remote]);
  expectStatus("first push", (await enclaveJson<{ status: string }>(a, ["push"])).out, "pushed");
  // B and C: clones of it (same passphrase: C unlocks with A's passphrase file).
  for (const h of [b, c]) {
    await enclave(h, ["remote", "set", remote]);
    expectStatus("clone", (await enclaveJson<{ status: string }>(h, ["pull"])).out, "cloned");
  }
  await unlock(c, a.sb.passFile);
  // D: the same vault file, syncing to the unversioned bucket.
  copyFileSync(vaultFile(a), vaultFile(d));
  await enclave(d, ["remote", "set", unversionedRemote]);
  await unlock(d, a.sb.passFile);
  expectStatus(
    "first push (unversioned)",
    (await enclaveJson<{ status: string }>(d, ["push"])).out,
    "pushed",
  );
  return homes;
}

/** Lock what is unlocked (which also ends each unlock's reaper), then remove every home. */
async function disposeHomes(homes: Partial<Homes>): Promise<void> {
  for (const h of [homes.a, homes.b, homes.c, homes.d]) {
    if (!h) continue;
    if (h.unlocked) await enclave(h, ["lock", "--discard"]).catch(() => undefined);
    h.sb.cleanup();
  }
}

// ---- one cycle ----

type CycleTimes = Record<Op, number>;

interface PullOut {
  status: string;
  updated: string[];
}

/**
 * One of everything, interleaved so that drift (moto's memory growing with every version, the
 * page cache, other load) touches enclave and aws alike. Only the named command is timed: the
 * `set` that makes each push necessary, and file copies, are not. A command that did not do the
 * work being timed (a push that found nothing to upload, a pull that did not fast-forward) fails
 * the benchmark.
 */
async function runCycle(h: Homes, cli: AwsCli, moto: Moto, scratch: string): Promise<CycleTimes> {
  await bump(h.a);
  const push = await enclaveJson<{ status: string }>(h.a, ["push"]);
  expectStatus("push", push.out, "pushed");

  const pullLocked = await enclaveJson<PullOut>(h.b, ["pull"]);
  expectStatus("pull (locked)", pullLocked.out, "fast-forward");
  const pullUnlocked = await enclaveJson<PullOut>(h.c, ["pull"]);
  expectStatus("pull (unlocked)", pullUnlocked.out, "fast-forward");
  if (!pullUnlocked.out.updated.includes(COUNTER))
    throw new Error(`pull (unlocked) did not update ${COUNTER}`);
  // Nothing new on the remote: shows what a no-op pull costs (it still downloads the vault).
  const pullUpToDate = await enclaveJson<PullOut>(h.b, ["pull"]);
  expectStatus("pull (up to date)", pullUpToDate.out, "up-to-date");
  // No network at all: start-up, the SDK's import, reading and hashing the vault.
  const pushNothing = await enclaveJson<{ status: string }>(h.a, ["push"]);
  expectStatus("push (nothing to push)", pushNothing.out, "up-to-date");

  await bump(h.d);
  const pushUnversioned = await enclaveJson<{ status: string }>(h.d, ["push"]);
  expectStatus("push (unversioned)", pushUnversioned.out, "pushed");

  const { awsUpload, awsDownload } = await awsRoundTrip(h, cli, moto, scratch);
  return {
    push: push.ms,
    pushUnversioned: pushUnversioned.ms,
    pushNothing: pushNothing.ms,
    awsUpload,
    pullLocked: pullLocked.ms,
    pullUnlocked: pullUnlocked.ms,
    pullUpToDate: pullUpToDate.ms,
    awsDownload,
  };
}

/** `aws s3 cp` of A's current vault file up, then down into a fresh file on the same disk. */
async function awsRoundTrip(h: Homes, cli: AwsCli, moto: Moto, scratch: string) {
  const up = join(scratch, "up.enc");
  const down = join(scratch, "down.enc");
  copyFileSync(vaultFile(h.a), up);
  rmSync(down, { force: true });
  const awsUpload = await awsCopy(cli, moto.endpoint, up, h.peerUrl, h.a.env);
  const awsDownload = await awsCopy(cli, moto.endpoint, h.peerUrl, down, h.a.env);
  if (statSync(down).size !== statSync(up).size) throw new Error("aws s3 cp downloaded a different size");
  return { awsUpload, awsDownload };
}

// ---- one size ----

interface SizeResult {
  label: string;
  vaultFileBytes: number;
  reps: number;
  ops: Record<Op, Stats>;
  /** History copies under the unversioned key's `.history/` prefix after the run. */
  historyCopies: number;
}

async function countHistoryCopies(moto: Moto, slug: string): Promise<number> {
  const r = await moto.s3.send(
    new ListObjectsV2Command({ Bucket: UNVERSIONED_BUCKET, Prefix: `${slug}/vault.enc.history/` }),
  );
  return r.KeyCount ?? 0;
}

async function measureSize(size: SizeCase, cli: AwsCli, moto: Moto, scratch: string): Promise<SizeResult> {
  const reps = REPS_OVERRIDE ?? size.reps;
  let homes: Partial<Homes> = {};
  try {
    homes = await prepareHomes(size, moto, scratch);
    const h = homes as Homes;
    await runCycle(h, cli, moto, scratch); // warm-up: moto's first large bodies, the page cache
    const cycles: CycleTimes[] = [];
    for (let i = 0; i < reps; i++) cycles.push(await runCycle(h, cli, moto, scratch));
    const ops = Object.fromEntries(OPS.map(({ op }) => [op, summarize(cycles.map((c) => c[op]))])) as Record<
      Op,
      Stats
    >;
    const historyCopies = await countHistoryCopies(moto, size.slug);
    // first push + warm-up + reps, each with its copy (fewer only if retention pruned them)
    if (historyCopies < reps + 2)
      throw new Error(`expected ${reps + 2} history copies, found ${historyCopies}`);
    return {
      label: size.label,
      vaultFileBytes: statSync(vaultFile(h.a)).size,
      reps,
      ops,
      historyCopies,
    };
  } finally {
    await disposeHomes(homes);
  }
}

// ---- start-up baselines ----

interface Startup {
  node: Stats;
  enclave: Stats;
  aws: Stats;
}

/** What every command pays before any work: node, node + enclave's modules, the AWS CLI. */
async function measureStartup(cli: AwsCli, env: NodeJS.ProcessEnv): Promise<Startup> {
  const reps = 5;
  return {
    node: await sampleRuns(reps, async () => (await runNode(["-e", "0"], env)).ms),
    enclave: await sampleRuns(reps, async () => (await runNode([CLI, "--version"], env)).ms),
    aws: await sampleRuns(reps, async () => (await runTimed(cli.path, ["--version"], env)).ms),
  };
}

/** moto's version, for the record; best effort (moto_server has no --version). */
async function motoVersion(): Promise<string> {
  try {
    const r = await runTimed("python3", ["-c", "import moto; print(moto.__version__)"], process.env);
    return r.stdout.trim();
  } catch {
    return "unknown";
  }
}

// ---- output ----

interface Row {
  op: Op;
  label: string;
  size: string;
  median: number;
  stats: Stats;
  mbPerS: number | null;
  netMs: number;
  ratioToAws: number | null;
}

function rowsOf(sizes: SizeResult[], startup: Startup): Row[] {
  return sizes.flatMap((s) =>
    OPS.map((o) => {
      const st = s.ops[o.op];
      const base = o.tool === "aws" ? startup.aws.median : startup.enclave.median;
      return {
        op: o.op,
        label: o.label,
        size: s.label,
        median: st.median,
        stats: st,
        mbPerS: o.transfers ? s.vaultFileBytes / MB / (st.median / 1000) : null,
        netMs: st.median - base,
        ratioToAws: o.peer ? st.median / s.ops[o.peer].median : null,
      };
    }),
  );
}

function resultsTable(rows: Row[]): string {
  return renderTable(
    ["operation", "size", "median ms (min–max)", "MB/s", "net ms", "enclave ÷ aws"],
    rows.map((r) => [
      r.label,
      r.size,
      formatStats(r.stats),
      r.mbPerS === null ? "—" : r.mbPerS.toFixed(1),
      formatMs(r.netMs),
      r.ratioToAws === null ? "—" : `${r.ratioToAws.toFixed(2)}×`,
    ]),
  );
}

function report(r: {
  machine: MachineInfo;
  aws: AwsCli;
  moto: string;
  startup: Startup;
  sizes: SizeResult[];
  rows: Row[];
  elapsedSeconds: number;
  loadAverageAtEnd: number;
}): string {
  const m = r.machine;
  const su = r.startup;
  const sizes = r.sizes
    .map((s) => `${s.label} = ${s.vaultFileBytes.toLocaleString("en-US")} bytes`)
    .join(", ");
  return [
    `enclave sync benchmark — ${m.cpus} × ${m.model}, node ${m.node}, ${m.platform}`,
    `S3: moto_server ${r.moto} on 127.0.0.1; bucket with versioning on unless the row says otherwise`,
    `aws: ${r.aws.path}${r.aws.resolvedFrom ? ` (behind the pyenv shim ${r.aws.resolvedFrom})` : ""} — ${r.aws.version}`,
    `vault files: ${sizes}; MB = 10^6 bytes`,
    `times: wall clock spawn to exit, median (min–max) of ${r.sizes.map((s) => `${s.reps}`).join(" / ")} cycles ` +
      "(per size) after one warm-up cycle",
    `start-up alone: node -e 0 ${formatStats(su.node)}, enclave --version ${formatStats(su.enclave)}, ` +
      `aws --version ${formatStats(su.aws)}`,
    "net ms = median − that tool's start-up; enclave ÷ aws = median over the aws s3 cp median, same direction",
    "",
    resultsTable(r.rows),
    "",
    "push: A changes one 16-byte secret (untimed), then `enclave push` uploads the whole re-encrypted vault;",
    "  unversioned bucket: the same, plus the history copy (a second full upload), a list and maybe a prune.",
    "pull: B (locked: ciphertext only) and C (unlocked: also decrypts and refreshes the RAM files) each",
    "  fast-forward to the version A just pushed; `already up to date` is B pulling again right after.",
    "enclave fsyncs what it writes (vault.enc, and sync/base.enc on every push and pull); aws s3 cp does not.",
    "aws s3 cp uses multipart (8 MB parts, 10 threads) above 8 MB; enclave sends one PUT / one GET.",
    "",
    `finished in ${r.elapsedSeconds.toFixed(0)} s; 1-min load average ${m.loadAverageAtStart} at start, ` +
      `${r.loadAverageAtEnd} at end; JSON: ${RESULTS_FILE}`,
  ].join("\n");
}

async function main(): Promise<void> {
  const started = performance.now();
  assertCliBuilt();
  const machine = machineInfo();
  // Scratch on the persistent disk, like ENCLAVE_HOME: aws s3 cp reads and writes files there.
  const scratch = mkdtempSync(join(tmpdir(), "enclave-bench-sync-"));
  // Also on SIGINT/SIGTERM, which sandbox.ts turns into process.exit (no finally runs then).
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  process.once("exit", removeScratch);
  let moto: Moto | undefined;
  try {
    moto = await startMoto();
    await moto.createBucket(VERSIONED_BUCKET, { versioned: true });
    await moto.createBucket(UNVERSIONED_BUCKET, { versioned: false });
    const env = awsEnv(process.env, moto, scratch);
    const aws = await findAwsCli(env);
    const startup = await measureStartup(aws, env);
    const sizes: SizeResult[] = [];
    for (const size of SIZES) sizes.push(await measureSize(size, aws, moto, scratch));
    const rows = rowsOf(sizes, startup);
    const elapsedSeconds = (performance.now() - started) / 1000;
    const out = {
      machine,
      aws,
      moto: await motoVersion(),
      startup,
      sizes,
      rows,
      elapsedSeconds,
      loadAverageAtEnd: load1(),
    };
    writeResults(RESULTS_FILE, {
      settings: { kdf: FAST_KDF, buckets: { versioned: VERSIONED_BUCKET, unversioned: UNVERSIONED_BUCKET } },
      ...out,
    });
    process.stdout.write(`${report(out)}\n`);
  } finally {
    await moto?.stop();
    removeScratch();
  }
}

await main();
