/**
 * The proxy benchmark's load generator: `node dist/bench/proxy/loadgen.js PLAN.json`.
 *
 * Runs as its own process — for the enclave path as the child of `enclave run`, so the real CLI
 * and its proxy are what is measured; for the direct and mitmdump paths as a plain child of the
 * benchmark. It trusts whatever CA NODE_EXTRA_CA_CERTS names (enclave sets it to the run's
 * bundle; the benchmark sets it to the upstream's or mitmdump's CA) and sends
 * `Authorization: Bearer $BENCH_TOKEN` (the real token direct, a placeholder through a proxy).
 *
 * Two kinds of plan:
 *   throughput  closed-loop clients (each sends a request, reads the whole response, sends the
 *               next) for a fixed time per cell, after a warm-up; per cell: requests/s, latency
 *               percentiles, connections opened, errors, and the CPU time used meanwhile by the
 *               client, the proxy and the upstream (from /proc).
 *   memory      opens N keep-alive connections (one agent each, so each is its own connection),
 *               keeps every one busy with a request about once a second for a while, and samples
 *               the proxy process's VmRSS/VmHWM and open descriptors before, during and after.
 *
 * The result is written as JSON to plan.out.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import type { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent, request } from "node:https";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { HttpsProxyAgent } from "https-proxy-agent";
import { cmdline, countFds, cpuMs, type ProcMemory, readMemory } from "./procfs.js";

export type ConnMode = "keepalive" | "new";

export interface Cell {
  mode: ConnMode;
  concurrency: number;
}

interface CommonPlan {
  /** What the target is called in messages. */
  label: string;
  /** https://localhost:PORT/ */
  url: string;
  /** "env": HTTPS_PROXY from the environment (as `enclave run` sets it); null: no proxy. */
  proxy: "env" | string | null;
  /** The proxy's process: "parent" (the `enclave run` that started us), a pid, or null. */
  proxyPid: "parent" | number | null;
  upstreamPid: number;
  requestTimeoutMs: number;
  out: string;
}

export interface ThroughputPlan extends CommonPlan {
  kind: "throughput";
  cells: Cell[];
  warmupMs: number;
  durationMs: number;
}

export interface MemoryPlan extends CommonPlan {
  kind: "memory";
  connections: number;
  /** Time over which the connections are opened (staggered evenly). */
  rampMs: number;
  /** How long all connections are held open and busy once every one is up. */
  holdMs: number;
  /** Each connection sends a request about this often while held. */
  intervalMs: number;
}

export type Plan = ThroughputPlan | MemoryPlan;

/** Milliseconds; null when nothing completed. */
export interface Latency {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export interface CellResult extends Cell {
  /** Responses completed (200, full body) within the measured window. */
  requests: number;
  seconds: number;
  rps: number;
  latencyMs: Latency;
  /** Failed requests in the window (error, timeout, wrong status or body). */
  errors: number;
  errorSamples: string[];
  /** Distinct connections the client opened during the cell (warm-up included). */
  connectionsOpened: number;
  /** Requests started during the cell (warm-up included), for connections per request. */
  requestsStarted: number;
  /** CPU milliseconds used during the measured window. */
  cpuMs: { client: number; proxy: number | null; upstream: number };
}

export interface ThroughputResult {
  kind: "throughput";
  label: string;
  proxyPid: number | null;
  cells: CellResult[];
}

export interface MemorySample extends ProcMemory {
  fds: number;
}

export interface MemoryResult {
  kind: "memory";
  label: string;
  proxyPid: number;
  connections: number;
  /** Before the load generator sent anything. */
  idle: MemorySample;
  /** After a few requests on one connection (leaf certificate made, upstream connection up). */
  baseline: MemorySample;
  /** Sampled while all connections were open and busy; the largest RSS seen. */
  during: MemorySample;
  samplesDuring: number;
  /** All connections idle but still open, after the last request. */
  heldIdle: MemorySample;
  /** A second after the client closed every connection. */
  afterClose: MemorySample;
  connectionsOpened: number;
  requests: number;
  errors: number;
  errorSamples: string[];
  latencyMs: Latency;
  seconds: { ramp: number; hold: number };
}

const BODY_BYTES = 1024;

// ---- one request ----

interface Target {
  host: string;
  port: number;
  path: string;
  authorization: string;
  timeoutMs: number;
}

/** Distinct sockets the requests went over: new ones are new connections. */
class ConnectionCounter {
  private readonly seen = new WeakSet<Socket>();
  opened = 0;
  note(s: Socket): void {
    if (this.seen.has(s)) return;
    this.seen.add(s);
    this.opened++;
  }
}

/** GET the target through `agent`; resolves when the whole 1 KiB body is in, rejects otherwise. */
function get(t: Target, agent: HttpAgent, conns: ConnectionCounter): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        // Explicit, so that https-proxy-agent files a kept-alive socket under the same pool name
        // it later looks it up by (without it, every request opens a new connection).
        protocol: "https:",
        host: t.host,
        port: t.port,
        path: t.path,
        method: "GET",
        agent,
        headers: { authorization: t.authorization },
      },
      (res) => {
        let n = 0;
        res.on("data", (c: Buffer) => {
          n += c.length;
        });
        res.on("error", reject);
        res.on("end", () => {
          if (res.statusCode === 200 && n === BODY_BYTES) resolve();
          else reject(new Error(`HTTP ${res.statusCode}, ${n} body bytes`));
        });
      },
    );
    // One limit for the whole exchange, CONNECT included (the socket's idle timeout starts only
    // once the proxy agent has handed over a connected socket).
    const timer = setTimeout(
      () => req.destroy(new Error(`no response within ${t.timeoutMs} ms`)),
      t.timeoutMs,
    );
    req.on("close", () => clearTimeout(timer));
    req.on("socket", (s: Socket) => conns.note(s));
    req.on("error", reject);
    req.end();
  });
}

function proxyUrl(plan: CommonPlan): string | null {
  if (plan.proxy === null) return null;
  if (plan.proxy !== "env") return plan.proxy;
  const p = process.env.HTTPS_PROXY ?? process.env.https_proxy;
  if (!p) throw new Error("plan.proxy is env, but HTTPS_PROXY is not set");
  return p;
}

/** A keep-alive agent (connections reused) or one that opens a new connection per request. */
function makeAgent(proxy: string | null, keepAlive: boolean): HttpAgent {
  if (proxy === null)
    // No TLS session cache for new connections: a full handshake each time, as through a proxy.
    return keepAlive ? new HttpsAgent({ keepAlive }) : new HttpsAgent({ maxCachedSessions: 0 });
  const agent = new HttpsProxyAgent(proxy, { keepAlive });
  // Said once, so that agent-base does not work it out per request from a stack trace
  // (`new Error().stack`, ~10% of the client's CPU when left to it).
  agent.protocol = "https:";
  return agent;
}

function resolveProxyPid(p: CommonPlan["proxyPid"]): number | null {
  if (p === null) return null;
  if (p !== "parent") return p;
  const pid = process.ppid;
  const argv = cmdline(pid);
  // The `enclave run` node process: node …/main.js run … (with --sandbox none, our direct parent).
  if (!argv.some((a) => a.endsWith("main.js")) || !argv.includes("run"))
    throw new Error(`parent ${pid} is not \`enclave run\`: ${argv.join(" ")}`);
  return pid;
}

// ---- statistics ----

function percentile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

class Samples {
  private buf = new Float64Array(1 << 14);
  n = 0;
  push(x: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = x;
  }
  summary(): Latency {
    if (this.n === 0) return { p50: null, p90: null, p99: null, max: null, mean: null };
    const s = this.buf.slice(0, this.n).sort();
    let sum = 0;
    for (const x of s) sum += x;
    return {
      p50: percentile(s, 0.5),
      p90: percentile(s, 0.9),
      p99: percentile(s, 0.99),
      max: s[s.length - 1]!,
      mean: sum / s.length,
    };
  }
}

class Errors {
  count = 0;
  samples: string[] = [];
  add(e: unknown): void {
    this.count++;
    const m = (e as Error).message ?? String(e);
    if (this.samples.length < 5 && !this.samples.includes(m)) this.samples.push(m);
  }
}

// ---- throughput ----

async function runCell(
  cell: Cell,
  target: Target,
  proxy: string | null,
  plan: ThroughputPlan,
  proxyPid: number | null,
): Promise<CellResult> {
  const agent = makeAgent(proxy, cell.mode === "keepalive");
  const conns = new ConnectionCounter();
  const lat = new Samples();
  const errors = new Errors();
  const start = performance.now();
  const measureFrom = start + plan.warmupMs;
  const end = measureFrom + plan.durationMs;
  let started = 0;
  let done = 0;
  type CpuMark = { client: NodeJS.CpuUsage; proxy: number | null; upstream: number };
  const mark = (): CpuMark => ({
    client: process.cpuUsage(),
    proxy: proxyPid === null ? null : cpuMs(proxyPid),
    upstream: cpuMs(plan.upstreamPid),
  });
  // Taken by a timer, or by the first client to notice the moment passed, whichever comes first.
  let cpuAtStart: CpuMark | undefined;
  let cpuAtEnd: CpuMark | undefined;
  const markStart = () => {
    cpuAtStart ??= mark();
  };
  const markEnd = () => {
    markStart();
    cpuAtEnd ??= mark();
  };
  const startTimer = setTimeout(markStart, plan.warmupMs);
  const endTimer = setTimeout(markEnd, plan.warmupMs + plan.durationMs);

  const client = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      if (t0 >= measureFrom) markStart();
      started++;
      try {
        await get(target, agent, conns);
        const t1 = performance.now();
        if (t1 >= measureFrom && t1 <= end) {
          done++;
          lat.push(t1 - t0);
        }
      } catch (e) {
        const t1 = performance.now();
        if (t1 >= measureFrom && t1 <= end) errors.add(e);
        await sleep(10); // no hot loop against a refusing peer
      }
    }
    markEnd();
  };
  await Promise.all(Array.from({ length: cell.concurrency }, client));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  agent.destroy();
  // Let both ends finish closing before the next cell starts.
  await sleep(200);
  if (!cpuAtStart || !cpuAtEnd) throw new Error("the CPU marks did not fire (event loop blocked?)");
  const clientCpuUs =
    cpuAtEnd.client.user - cpuAtStart.client.user + cpuAtEnd.client.system - cpuAtStart.client.system;
  const seconds = plan.durationMs / 1000;
  return {
    ...cell,
    requests: done,
    seconds,
    rps: done / seconds,
    latencyMs: lat.summary(),
    errors: errors.count,
    errorSamples: errors.samples,
    connectionsOpened: conns.opened,
    requestsStarted: started,
    cpuMs: {
      client: clientCpuUs / 1000,
      proxy: cpuAtStart.proxy === null || cpuAtEnd.proxy === null ? null : cpuAtEnd.proxy - cpuAtStart.proxy,
      upstream: cpuAtEnd.upstream - cpuAtStart.upstream,
    },
  };
}

async function throughput(plan: ThroughputPlan, target: Target): Promise<ThroughputResult> {
  const proxy = proxyUrl(plan);
  const proxyPid = resolveProxyPid(plan.proxyPid);
  const cells: CellResult[] = [];
  for (const cell of plan.cells) {
    const r = await runCell(cell, target, proxy, plan, proxyPid);
    cells.push(r);
    process.stderr.write(
      `  … ${plan.label} ${cell.mode === "keepalive" ? "keep-alive" : "new conn"} ×${cell.concurrency}: ` +
        `${r.rps.toFixed(0)} req/s, p50 ${r.latencyMs.p50?.toFixed(2)} ms, p99 ${r.latencyMs.p99?.toFixed(2)} ms` +
        `${r.errors ? `, ${r.errors} errors (${r.errorSamples[0]})` : ""}\n`,
    );
  }
  return { kind: "throughput", label: plan.label, proxyPid, cells };
}

// ---- memory ----

function sample(pid: number): MemorySample {
  return { ...readMemory(pid), fds: countFds(pid) };
}

async function memory(plan: MemoryPlan, target: Target): Promise<MemoryResult> {
  const proxy = proxyUrl(plan);
  const pid = resolveProxyPid(plan.proxyPid);
  if (pid === null) throw new Error("a memory plan needs the proxy's pid");
  const idle = sample(pid);
  const conns = new ConnectionCounter();
  const errors = new Errors();
  const lat = new Samples();
  let requests = 0;
  const once = async (agent: HttpAgent) => {
    const t0 = performance.now();
    try {
      await get(target, agent, conns);
      requests++;
      lat.push(performance.now() - t0);
    } catch (e) {
      errors.add(e);
    }
  };

  // Baseline: one connection, a few requests, closed again.
  const warm = makeAgent(proxy, true);
  for (let i = 0; i < 5; i++) await once(warm);
  warm.destroy();
  await sleep(500);
  const baseline = sample(pid);
  const warmConns = conns.opened;

  // One agent per connection, so that each client holds a connection of its own. (No maxSockets:
  // a client sends one request at a time anyway, and https-proxy-agent's socket accounting under
  // a finite maxSockets can leave a request queued for good.)
  const agents = Array.from({ length: plan.connections }, () => makeAgent(proxy, true));
  const rampStart = performance.now();
  let up = 0;
  let stopAt = Number.POSITIVE_INFINITY;
  let allUp: () => void = () => undefined;
  const allUpP = new Promise<void>((r) => {
    allUp = r;
  });
  const client = async (agent: HttpAgent, i: number) => {
    await sleep((plan.rampMs * i) / plan.connections);
    await once(agent);
    if (++up === plan.connections) allUp();
    // Spread the held load: every client about once per interval, at its own phase.
    await sleep(Math.random() * plan.intervalMs);
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      await once(agent);
      const left = plan.intervalMs - (performance.now() - t0);
      if (performance.now() + left >= stopAt) break;
      if (left > 0) await sleep(left);
    }
  };
  const running = Promise.all(agents.map(client));
  // Every first request ends within requestTimeoutMs (answered or failed); this is a backstop.
  const rampTimeout = plan.rampMs + plan.requestTimeoutMs + 10_000;
  let rampTimer: NodeJS.Timeout | undefined;
  const rampLimit = new Promise<never>((_, reject) => {
    rampTimer = setTimeout(
      () => reject(new Error(`${up} of ${plan.connections} connections up after ${rampTimeout} ms`)),
      rampTimeout,
    );
  });
  try {
    await Promise.race([allUpP, rampLimit]);
  } finally {
    clearTimeout(rampTimer);
  }
  const rampSeconds = (performance.now() - rampStart) / 1000;
  const holdStart = performance.now();
  stopAt = holdStart + plan.holdMs;
  let during = sample(pid);
  let samplesDuring = 1;
  while (performance.now() < stopAt) {
    await sleep(250);
    const s = sample(pid);
    samplesDuring++;
    if (s.rssKiB > during.rssKiB) during = s;
  }
  await running;
  const holdSeconds = (performance.now() - holdStart) / 1000;
  await sleep(300);
  const heldIdle = sample(pid);
  for (const a of agents) a.destroy();
  await sleep(1000);
  const afterClose = sample(pid);
  return {
    kind: "memory",
    label: plan.label,
    proxyPid: pid,
    connections: plan.connections,
    idle,
    baseline,
    during,
    samplesDuring,
    heldIdle,
    afterClose,
    connectionsOpened: conns.opened - warmConns,
    requests,
    errors: errors.count,
    errorSamples: errors.samples,
    latencyMs: lat.summary(),
    seconds: { ramp: rampSeconds, hold: holdSeconds },
  };
}

// ---- main ----

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error("usage: loadgen.js PLAN.json");
  const plan = JSON.parse(readFileSync(file, "utf8")) as Plan;
  const token = process.env.BENCH_TOKEN;
  if (!token) throw new Error("BENCH_TOKEN is not set");
  const url = new URL(plan.url);
  const target: Target = {
    host: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    authorization: `Bearer ${token}`,
    timeoutMs: plan.requestTimeoutMs,
  };
  const result = plan.kind === "throughput" ? await throughput(plan, target) : await memory(plan, target);
  // A fingerprint of what the client sent, so the benchmark can tell placeholder from real value.
  const sentAuthorizationSha256 = createHash("sha256").update(target.authorization).digest("hex");
  writeFileSync(plan.out, `${JSON.stringify({ ...result, sentAuthorizationSha256 })}\n`);
}

await main();
