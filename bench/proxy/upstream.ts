/**
 * The proxy benchmark's upstream: a lean HTTPS server with its own private CA (so the proxies
 * verify it only through --upstream-ca / ssl_verify_upstream_trusted_ca), on 127.0.0.1, answering
 * every request with the same 1 KiB body — as cheap as an HTTPS server can be, so that what the
 * benchmark sees is the path in front of it.
 *
 * It checks the Authorization header of every request: the expected value gets 200 and the body;
 * anything else gets 401 and is counted. A benchmark phase through a proxy asserts that every
 * request it completed arrived with the injected value, so a broken injection path cannot pass
 * for a fast one.
 */
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { makePki } from "../../test/helpers/upstream.js";

export const BODY_BYTES = 1024;

export interface UpstreamCounts {
  /** Requests that carried the expected Authorization value (answered 200). */
  ok: number;
  /** Requests without it (answered 401). */
  bad: number;
  /** TLS connections accepted. */
  connections: number;
}

export interface BenchUpstream {
  port: number;
  /** The upstream's CA, PEM, written to a file for the proxies and the direct client. */
  caFile: string;
  counts: UpstreamCounts;
  stop(): Promise<void>;
}

/** Start the upstream; `expectedAuthorization` is the whole header value the proxies must inject. */
export async function startUpstream(dir: string, expectedAuthorization: string): Promise<BenchUpstream> {
  const pki = await makePki();
  const body = Buffer.alloc(BODY_BYTES, "enclave-bench-upstream-body.");
  const counts: UpstreamCounts = { ok: 0, bad: 0, connections: 0 };
  const server: Server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    // Requests are GETs; drain anything else so the connection stays usable.
    req.resume();
    if (req.headers.authorization === expectedAuthorization) {
      counts.ok++;
      res.writeHead(200, { "content-type": "text/plain", "content-length": BODY_BYTES });
      res.end(body);
    } else {
      counts.bad++;
      res.writeHead(401, { "content-type": "text/plain", "content-length": 0 });
      res.end();
    }
  });
  server.on("secureConnection", () => counts.connections++);
  // Idle keep-alive connections (the memory phase holds 1,000 of them) must not be closed under it.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 130_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve);
  });
  const caFile = join(dir, "upstream-ca.pem");
  writeFileSync(caFile, pki.caPem);
  return {
    port: (server.address() as { port: number }).port,
    caFile,
    counts,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
