/**
 * A real S3/STS endpoint for tests: moto_server on a free loopback port, started per test file.
 * It honours conditional writes (If-Match / If-None-Match) and bucket versioning.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateBucketCommand, PutBucketVersioningCommand, S3Client } from "@aws-sdk/client-s3";

export interface Moto {
  endpoint: string;
  /** Environment for the CLI and SDK: endpoint, dummy static credentials, region. */
  env: NodeJS.ProcessEnv;
  s3: S3Client;
  createBucket(name: string, opts?: { versioned?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const proc: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  proc.stderr?.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-4000);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/moto-api/`);
      if (r.ok || r.status < 500) break;
    } catch {
      // not up yet
    }
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`moto_server did not start: ${log}`);
    await sleep(150);
  }
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: "us-east-1",
  };
  const s3 = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
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
      s3.destroy();
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
    },
  };
}
