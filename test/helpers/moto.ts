/**
 * A real S3/STS endpoint: moto_server on a free loopback port, with dummy static credentials.
 * Tests start one per file; bench/sync.ts starts one per run. It honours conditional writes
 * (If-Match / If-None-Match) and bucket versioning.
 *
 * The server never outlives the process that started it: an `exit` hook kills it synchronously,
 * which also covers a benchmark interrupted by SIGINT/SIGTERM (bench/lib/sandbox.ts turns those
 * into process.exit).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";

export interface Moto {
  endpoint: string;
  /**
   * What the CLI, the AWS SDK and the AWS CLI need to reach it: endpoint, dummy static
   * credentials, region (AWS_REGION for the SDK, AWS_DEFAULT_REGION for the AWS CLI).
   */
  env: Record<string, string>;
  s3: S3Client;
  createBucket(name: string, opts?: { versioned?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 30_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll until moto answers; its start-up (Python, Flask) takes a second or two. */
async function waitUntilUp(endpoint: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/moto-api/`);
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    if (proc.exitCode !== null || Date.now() > deadline)
      throw new Error(`moto_server did not start: ${log()}`);
    await sleep(150);
  }
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  proc.stderr?.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const killOnExit = () => proc.kill("SIGTERM");
  process.once("exit", killOnExit);
  try {
    await waitUntilUp(endpoint, proc, () => log);
  } catch (e) {
    process.removeListener("exit", killOnExit);
    proc.kill("SIGTERM");
    throw e;
  }
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
  };
  const s3 = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: env.AWS_REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY },
  });
  return {
    endpoint,
    env,
    s3,
    async createBucket(name, opts = {}) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      if (opts.versioned)
        await s3.send(
          new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: "Enabled" } }),
        );
    },
    async stop() {
      process.removeListener("exit", killOnExit);
      s3.destroy();
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}
