/**
 * The credential endpoint as a run mounts it: a local HTTP server whose `/aws/<grant>/credentials`
 * path is handled by handleCredentialRequest, with the audit events and each request's
 * User-Agent kept for the test to look at. Other paths get 404.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { type CredentialRequestAudit, handleCredentialRequest } from "../../src/providers/aws/endpoint.js";
import type { AwsSessionBroker } from "../../src/providers/aws/session-broker.js";

export interface CredentialServer {
  url: string;
  token: string;
  /** The token in a 0600 file in a private directory on /dev/shm. */
  tokenFile: string;
  /** A private directory on /dev/shm for the test's files (removed by close). */
  dir: string;
  audits: CredentialRequestAudit[];
  userAgents: (string | undefined)[];
  close(): Promise<void>;
}

export async function startCredentialServer(
  broker: AwsSessionBroker,
  grant = "deploy",
): Promise<CredentialServer> {
  const token = randomBytes(24).toString("base64url");
  const dir = mkdtempSync(join("/dev/shm", "enclave-aws-test-"));
  chmodSync(dir, 0o700);
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const audits: CredentialRequestAudit[] = [];
  const userAgents: (string | undefined)[] = [];
  const path = `/aws/${grant}/credentials`;
  const server = createServer((req, res) => {
    if (req.url !== path) {
      res.writeHead(404).end();
      return;
    }
    userAgents.push(req.headers["user-agent"]);
    void handleCredentialRequest(req, res, {
      broker,
      expectedToken: Buffer.from(token),
      audit: (e) => audits.push(e),
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    token,
    tokenFile,
    dir,
    audits,
    userAgents,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
