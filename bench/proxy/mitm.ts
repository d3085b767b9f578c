/**
 * The peer: mitmdump (Debian's mitmproxy) with bench/proxy/inject.py, the header-injection addon
 * equivalent to an enclave http grant. Started on a free loopback port with a confdir of its own
 * (it makes its CA there on first start), verifying the upstream against the upstream's CA only.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const MITMDUMP = process.env.BENCH_MITMDUMP ?? "/usr/bin/mitmdump";

export interface MitmConfig {
  host: string;
  port: number;
  header: string;
  value: string;
  secret: string;
  placeholder: string;
}

export interface Mitm {
  pid: number;
  port: number;
  /** mitmproxy's CA certificate (PEM), for the client to trust. */
  caFile: string;
  stop(): Promise<void>;
  /** The last of what it printed (for error messages). */
  output(): string;
}

const live = new Set<ChildProcess>();

/** Kill every mitmdump started here (synchronous: safe in an exit handler). */
export function killMitmdumps(): void {
  for (const c of live) killGroup(c);
  live.clear();
}

function killGroup(c: ChildProcess): void {
  try {
    if (c.pid !== undefined) process.kill(-c.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export function mitmdumpVersion(): string {
  try {
    const out = execFileSync(MITMDUMP, ["--version"], { encoding: "utf8" });
    return out.split("\n")[0]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export async function startMitmdump(o: {
  dir: string;
  addon: string;
  upstreamCaFile: string;
  config: MitmConfig;
  timeoutMs?: number;
}): Promise<Mitm> {
  if (!existsSync(MITMDUMP))
    throw new Error(`${MITMDUMP} is missing: apt-get install mitmproxy (or set BENCH_MITMDUMP)`);
  const confdir = join(o.dir, "confdir");
  mkdirSync(confdir, { recursive: true, mode: 0o700 });
  const configFile = join(o.dir, "inject.json");
  writeFileSync(configFile, JSON.stringify(o.config), { mode: 0o600 });
  const port = await freePort();
  const child = spawn(
    MITMDUMP,
    [
      "--listen-host",
      "127.0.0.1",
      "--listen-port",
      String(port),
      "--set",
      `confdir=${confdir}`,
      "--set",
      `ssl_verify_upstream_trusted_ca=${o.upstreamCaFile}`,
      "--set",
      "flow_detail=0",
      "--set",
      "termlog_verbosity=warn",
      "-s",
      o.addon,
    ],
    {
      env: { ...process.env, BENCH_MITM_CONFIG: configFile, HOME: o.dir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  live.add(child);
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited: string | undefined;
  const closed = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = `exited ${code ?? signal}`;
      live.delete(child);
      resolve();
    }),
  );
  const stop = async () => {
    if (exited === undefined) {
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([closed, sleep(5000)]);
      if (exited === undefined) killGroup(child);
      await closed;
    }
  };
  const caFile = join(confdir, "mitmproxy-ca-cert.pem");
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`mitmdump ${exited} while starting: ${out}`);
    if (existsSync(caFile) && (await accepts(port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`mitmdump did not start listening on 127.0.0.1:${port}: ${out}`);
    }
    await sleep(100);
  }
  return { pid: child.pid!, port, caFile, stop, output: () => out };
}
