/**
 * AWS credentials benchmark: how long a run's child takes to obtain its STS session, through
 * `credential_process` and through the container-credentials endpoint, warm (the broker holds
 * the session) and cold (the run's first request: the broker calls STS AssumeRole first); and how
 * many STS calls 1,000 credential requests cost (target: one per session, plus refreshes).
 *
 *   npm run build && node dist/bench/aws-creds.js     (BENCH_REPS=N for N samples per row)
 *
 * STS is moto_server on 127.0.0.1: an AssumeRole there takes a few milliseconds, against tens to
 * hundreds of milliseconds at a real regional STS endpoint, so the cold rows are a floor.
 * The endpoint is served in this process, as the run serves it (no proxy, no sandbox).
 * Prints tables and writes bench/results/aws-creds.json.
 */

import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request, type Server } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CREDENTIAL_REFRESH_WINDOW_MS } from "../src/platform/aws-credentials.js";
import { CREDENTIAL_PROCESS_SCRIPT } from "../src/providers/aws/credential-process.js";
import { handleCredentialRequest } from "../src/providers/aws/endpoint.js";
import type { AwsGrantConfig } from "../src/providers/aws/grant.js";
import { AwsSessionBroker } from "../src/providers/aws/session-broker.js";
import { type AwsCredentialPath, awsChildSetup } from "../test/helpers/aws-child.js";
import { type Moto, startMoto } from "../test/helpers/moto.js";
import { type AwsCli, findAwsCli } from "./lib/aws-cli.js";
import { CLI, REPO, runNode } from "./lib/cli.js";
import { runTimed } from "./lib/exec.js";
import { load1, type MachineInfo, machineInfo } from "./lib/machine.js";
import { writeResults } from "./lib/results.js";
import { formatMs, formatStats, type Stats, sampleRuns, summarize } from "./lib/stats.js";
import { renderTable } from "./lib/table.js";

const RESULTS_FILE = join(REPO, "bench/results/aws-creds.json");
const REPS = Number(process.env.BENCH_REPS) || 15;
const HELPER = CREDENTIAL_PROCESS_SCRIPT;
const ROLE = "arn:aws:iam::123456789012:role/bench";
const GRANT = "bench";
const PROFILE = "enclave";
const REGION = "us-east-1";
const REQUESTS = 1000;

// ---- the run's side: broker + endpoint ----

/** The endpoint as a run serves it; `broker` can be swapped for a fresh one (a cold run). */
interface Endpoint {
  url: string;
  token: string;
  tokenFile: string;
  dir: string;
  broker: AwsSessionBroker;
  /** A fresh broker: the next request pays the AssumeRole. */
  coldStart(config?: Partial<AwsGrantConfig>, now?: () => number): void;
  close(): Promise<void>;
}

async function startEndpoint(moto: Moto): Promise<Endpoint> {
  const token = randomBytes(24).toString("base64url");
  const expected = Buffer.from(token);
  const dir = mkdtempSync(join("/dev/shm", "enclave-bench-aws-"));
  chmodSync(dir, 0o700);
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", removeDir);
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const newBroker = (config: Partial<AwsGrantConfig> = {}, now?: () => number) =>
    new AwsSessionBroker({
      grantName: GRANT,
      runId: `bench-${Date.now()}`,
      config: { role: ROLE, durationSeconds: 3600, ...config },
      env: { ...moto.env, AWS_ENDPOINT_URL_STS: moto.endpoint },
      ...(now ? { now } : {}),
    });
  const path = `/aws/${GRANT}/credentials`;
  const ep = {
    broker: newBroker(),
  } as Endpoint;
  const server: Server = createServer((req, res) => {
    if (req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    void handleCredentialRequest(req, res, {
      broker: ep.broker,
      expectedToken: expected,
      audit: () => undefined,
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  Object.assign(ep, {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`,
    token,
    tokenFile,
    dir,
    coldStart(config: Partial<AwsGrantConfig> = {}, now?: () => number) {
      ep.broker.close();
      ep.broker = newBroker(config, now);
    },
    async close() {
      ep.broker.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      removeDir();
    },
  });
  return ep;
}

/** One GET of the endpoint on a new connection (as the SDKs and the CLI make it); returns ms. */
function getOnce(ep: Endpoint, agent: Agent | false = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(ep.url, { agent, headers: { authorization: ep.token } }, (res) => {
      res.resume();
      res.on("end", () => {
        if (res.statusCode !== 200) reject(new Error(`endpoint answered ${res.statusCode}`));
        else resolve(performance.now() - t0);
      });
    });
    req.on("error", reject);
    req.end();
  });
}

// ---- the child's side ----

/** The child's environment for one path: nothing but PATH, an empty HOME and the run's AWS vars. */
function childEnv(ep: Endpoint, path: AwsCredentialPath): NodeJS.ProcessEnv {
  const configFile = join(ep.dir, `config-${path}`);
  const setup = awsChildSetup({
    prefer: path,
    profile: PROFILE,
    region: REGION,
    configFile,
    endpointUrl: ep.url,
    tokenFile: ep.tokenFile,
    token: ep.token,
    credentialProcessCommand: [process.execPath, HELPER],
  });
  writeFileSync(configFile, setup.configText, { mode: 0o600 });
  return { PATH: process.env.PATH, HOME: ep.dir, ...setup.env };
}

/** A Node child on the SDK v3 default chain; it reports how long the chain took to give credentials. */
const SDK_CHILD = `
import { createRequire } from "node:module";
const require = createRequire(${JSON.stringify(join(REPO, "package.json"))});
const { fromNodeProviderChain } = require("@aws-sdk/credential-providers");
const provider = fromNodeProviderChain();
const t0 = performance.now();
const c = await provider();
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, keyPrefix: c.accessKeyId.slice(0, 4) }));`;

/** Runs SDK_CHILD; `session` says whether it must have got an STS session (ASIA…) rather than keys. */
async function sdkChild(
  env: NodeJS.ProcessEnv,
  session: boolean,
): Promise<{ inChild: number; wall: number }> {
  const r = await runNode(["--no-warnings", "--input-type=module", "-e", SDK_CHILD], env);
  const out = JSON.parse(r.stdout) as { ms: number; keyPrefix: string };
  if ((out.keyPrefix === "ASIA") !== session)
    throw new Error(`the SDK child got ${out.keyPrefix}… credentials`);
  return { inChild: out.ms, wall: r.ms };
}

// ---- measurements ----

interface Startup {
  node: Stats;
  aws?: Stats;
}

interface Row {
  label: string;
  path: AwsCredentialPath | "reference";
  state: "warm" | "cold" | "—";
  /** What the row's number is: the child's own view, or spawn-to-exit of a command. */
  measure: string;
  stats: Stats;
  /** Spawn-to-exit of the whole child, when the row's number is measured inside it. */
  wall?: Stats;
  /** Per sample: the row's time minus its baseline command's, run right before it. */
  net?: Stats;
  baseline?: string;
}

type Sample = () => Promise<{ ms: number; wall?: number }>;

async function measure(
  ep: Endpoint,
  state: Row["state"],
  reps: number,
  run: Sample,
  baseline?: () => Promise<number>,
): Promise<Pick<Row, "stats" | "wall" | "net">> {
  const ms: number[] = [];
  const wall: number[] = [];
  const net: number[] = [];
  await run(); // warm-up: page cache, moto's first calls
  for (let i = 0; i < reps; i++) {
    // Paired with the sample, so that load from elsewhere touches both alike.
    const base = baseline ? await baseline() : undefined;
    if (state === "cold") ep.coldStart();
    else await ep.broker.get(); // the session is cached before the child asks
    const r = await run();
    ms.push(r.ms);
    if (r.wall !== undefined) wall.push(r.wall);
    if (base !== undefined) net.push(r.ms - base);
  }
  return {
    stats: summarize(ms),
    ...(wall.length ? { wall: summarize(wall) } : {}),
    ...(net.length ? { net: summarize(net) } : {}),
  };
}

interface Baseline {
  label: string;
  run: () => Promise<number>;
}

async function latencyRows(ep: Endpoint, aws: AwsCli | undefined, enclaveCommand: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  const add = async (
    label: string,
    path: Row["path"],
    measureText: string,
    run: Sample,
    opts: { reps?: number; baseline?: Baseline; states?: Row["state"][] } = {},
  ) => {
    for (const state of opts.states ?? (["warm", "cold"] as const)) {
      const m = await measure(ep, state, opts.reps ?? REPS, run, opts.baseline?.run);
      rows.push({
        label,
        path,
        state,
        measure: measureText,
        ...m,
        ...(opts.baseline ? { baseline: opts.baseline.label } : {}),
      });
    }
  };
  const bare = { PATH: process.env.PATH };
  const nodeBaseline: Baseline = {
    label: "node -e 0",
    run: async () => (await runNode(["-e", "0"], bare)).ms,
  };
  const procEnv = childEnv(ep, "process");
  const contEnv = childEnv(ep, "container");
  /** Static keys in the environment: what the same clients do when credentials cost nothing. */
  const keysEnv: NodeJS.ProcessEnv = {
    ...bare,
    HOME: ep.dir,
    AWS_ACCESS_KEY_ID: "AKIDBENCHBASELINE000",
    AWS_SECRET_ACCESS_KEY: "baseline",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
  };
  const helperArgs = ["--url", ep.url, "--token-file", ep.tokenFile];

  const http = async () => ({ ms: await getOnce(ep) });
  await add("container endpoint: one HTTP GET", "container", "request to response", http, { reps: REPS * 4 });
  const helper = async () => ({ ms: (await runNode([HELPER, ...helperArgs], bare)).ms });
  await add("credential_process: node credential-process.js", "process", "spawn to exit", helper, {
    baseline: nodeBaseline,
  });
  if (enclaveCommand) {
    const viaCli = async () => ({ ms: (await runNode([CLI, "_aws-credentials", ...helperArgs], bare)).ms });
    await add("credential_process: enclave _aws-credentials", "process", "spawn to exit", viaCli, {
      baseline: nodeBaseline,
    });
  }
  const sdk =
    (env: NodeJS.ProcessEnv, session = true) =>
    async () => {
      const r = await sdkChild(env, session);
      return { ms: r.inChild, wall: r.wall };
    };
  await add("SDK v3 child, default chain → credential_process", "process", "in the child", sdk(procEnv));
  await add("SDK v3 child, default chain → container endpoint", "container", "in the child", sdk(contEnv));
  await add(
    "SDK v3 child, default chain → env keys (floor)",
    "reference",
    "in the child",
    sdk(keysEnv, false),
    {
      states: ["—"],
    },
  );
  if (aws) {
    const exportArgs = ["configure", "export-credentials", "--profile", PROFILE, "--format", "process"];
    const cli = (env: NodeJS.ProcessEnv) => async () => ({
      ms: (await runTimed(aws.path, exportArgs, env)).ms,
    });
    const keysArgs = ["configure", "export-credentials", "--format", "process"];
    const cliBaseline: Baseline = {
      label: "the same command on static env keys",
      run: async () => (await runTimed(aws.path, keysArgs, keysEnv)).ms,
    };
    await add(
      "AWS CLI v2 export-credentials → credential_process",
      "process",
      "spawn to exit",
      cli(procEnv),
      {
        baseline: cliBaseline,
      },
    );
    await add(
      "AWS CLI v2 export-credentials → container endpoint",
      "container",
      "spawn to exit",
      cli(contEnv),
      {
        baseline: cliBaseline,
      },
    );
  }
  return rows;
}

interface StsCount {
  label: string;
  requests: number;
  stsCalls: number;
  target: number;
  served: number;
  /** Wall time for the requests (real time; the simulated runs move the broker's clock only). */
  ms: number;
}

/** Run `requests` GETs with `concurrency` in flight, calling before(i) ahead of request i. */
async function hammer(ep: Endpoint, requests: number, concurrency: number, before?: (i: number) => void) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < requests; i = next++) {
          before?.(i);
          await getOnce(ep, agent);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return performance.now() - t0;
}

async function stsCounts(ep: Endpoint): Promise<StsCount[]> {
  const out: StsCount[] = [];
  const count = (label: string, target: number, ms: number) => {
    const s = ep.broker.stats();
    out.push({ label, requests: REQUESTS, stsCalls: s.stsCalls, served: s.served, target, ms });
  };
  ep.coldStart();
  count(`${REQUESTS} requests, 50 at a time, one 1 h session`, 1, await hammer(ep, REQUESTS, 50));
  ep.coldStart();
  count(`${REQUESTS} requests all at once (cold broker)`, 1, await hammer(ep, REQUESTS, REQUESTS));
  // A long run: the broker's clock moves through 3 hours while the requests come in, evenly.
  const span = 3 * 3600_000;
  for (const durationSeconds of [3600, 900]) {
    let offset = 0;
    ep.coldStart({ durationSeconds }, () => Date.now() + offset);
    const ms = await hammer(ep, REQUESTS, 1, (i) => {
      offset = (i * span) / REQUESTS;
    });
    const last = ((REQUESTS - 1) * span) / REQUESTS;
    const target = 1 + Math.floor(last / (durationSeconds * 1000 - CREDENTIAL_REFRESH_WINDOW_MS));
    count(
      `${REQUESTS} requests over a 3 h run, ${durationSeconds / 60} min sessions (refresh at < 5 min left)`,
      target,
      ms,
    );
  }
  return out;
}

/** Whether the CLI knows `_aws-credentials` yet (the lead registers it in main.ts). */
async function enclaveCommandAvailable(ep: Endpoint): Promise<boolean> {
  if (!existsSync(CLI)) return false;
  try {
    await runNode([CLI, "_aws-credentials", "--url", ep.url, "--token-file", ep.tokenFile], {
      PATH: process.env.PATH,
    });
    return true;
  } catch {
    return false;
  }
}

// ---- output ----

function report(r: {
  machine: MachineInfo;
  aws?: AwsCli;
  startup: Startup;
  rows: Row[];
  counts: StsCount[];
  enclaveCommand: boolean;
  elapsedSeconds: number;
  loadAverageAtEnd: number;
}): string {
  const m = r.machine;
  const latency = renderTable(
    [
      "how the child gets credentials",
      "broker",
      "median ms (min–max)",
      "measured",
      "net ms",
      "child wall ms",
    ],
    r.rows.map((row) => [
      row.label,
      row.state,
      formatStats(row.stats),
      row.measure,
      row.net ? formatMs(row.net.median) : "—",
      row.wall ? formatMs(row.wall.median) : "—",
    ]),
  );
  const counts = renderTable(
    ["credential requests (HTTP, keep-alive)", "STS calls", "target", "served", "wall ms"],
    r.counts.map((c) => [c.label, String(c.stsCalls), String(c.target), String(c.served), formatMs(c.ms)]),
  );
  return [
    `enclave AWS credentials benchmark — ${m.cpus} × ${m.model}, node ${m.node}, ${m.platform}`,
    "STS: moto_server on 127.0.0.1 (an AssumeRole takes milliseconds here; a real regional endpoint, tens to hundreds)",
    r.aws ? `aws: ${r.aws.path} — ${r.aws.version}` : "aws: not found (its rows are left out)",
    `start-up alone: node -e 0 ${formatStats(r.startup.node)}` +
      (r.startup.aws ? `, aws --version ${formatStats(r.startup.aws)}` : ""),
    `warm = the broker holds the session; cold = a fresh broker, so the request includes STS AssumeRole. ${REPS} samples per row (×4 for the HTTP GET), after one warm-up`,
    "",
    latency,
    "",
    counts,
    "",
    "credential_process is spawned by the SDK/CLI whenever it needs credentials: node's start-up plus one loopback GET.",
    "The container endpoint is one GET on a new connection. SDK rows: the default chain's call, timed inside a fresh",
    "child (node start-up and the first import left out; the chain's lazy loading of its providers and the config",
    "file read counted). CLI rows: the whole `aws configure export-credentials` command. net ms: per sample, minus a",
    "baseline run just before it (node -e 0 for the helper; for the CLI the same command resolving static env keys),",
    "median of those differences: what the credential path itself adds.",
    r.enclaveCommand
      ? ""
      : "`enclave _aws-credentials` is not registered in the CLI yet: its row is left out (the helper module is what it runs).",
    `finished in ${r.elapsedSeconds.toFixed(0)} s; 1-min load average ${m.loadAverageAtStart} at start, ` +
      `${r.loadAverageAtEnd} at end; JSON: ${RESULTS_FILE}`,
  ].join("\n");
}

async function main(): Promise<void> {
  const started = performance.now();
  // An interrupted run still stops moto and removes its files ("exit" hooks run on process.exit).
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const machine = machineInfo();
  let moto: Moto | undefined;
  let ep: Endpoint | undefined;
  try {
    moto = await startMoto();
    ep = await startEndpoint(moto);
    let aws: AwsCli | undefined;
    try {
      aws = await findAwsCli({ PATH: process.env.PATH });
    } catch {
      aws = undefined;
    }
    const startup: Startup = {
      node: await sampleRuns(5, async () => (await runNode(["-e", "0"], { PATH: process.env.PATH })).ms),
      ...(aws
        ? {
            aws: await sampleRuns(
              5,
              async () => (await runTimed(aws.path, ["--version"], { PATH: process.env.PATH })).ms,
            ),
          }
        : {}),
    };
    const enclaveCommand = await enclaveCommandAvailable(ep);
    const rows = await latencyRows(ep, aws, enclaveCommand);
    const counts = await stsCounts(ep);
    const out = {
      machine,
      ...(aws ? { aws } : {}),
      startup,
      rows,
      counts,
      enclaveCommand,
      elapsedSeconds: (performance.now() - started) / 1000,
      loadAverageAtEnd: load1(),
    };
    writeResults(RESULTS_FILE, { settings: { reps: REPS, requests: REQUESTS, role: ROLE }, ...out });
    process.stdout.write(`${report(out)}\n`);
    const missed = counts.filter((c) => c.stsCalls !== c.target);
    if (missed.length) {
      process.stderr.write(`STS calls above target: ${missed.map((c) => c.label).join("; ")}\n`);
      process.exitCode = 1;
    }
  } finally {
    await ep?.close();
    await moto?.stop();
  }
}

await main();
