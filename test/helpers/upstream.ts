/**
 * A real HTTPS upstream for run and proxy tests, with its own private CA (so it verifies only
 * through --upstream-ca), listening on every loopback address: `localhost`, 127.0.0.1 and
 * 127.0.0.2 are three names for it, which gives "another host" without DNS. It records what it
 * received — method, host, path and headers — and answers:
 *   /echo       JSON of the request headers (so an injected value would come back)
 *   /split      the Authorization header's value, written in 3-byte pieces with pauses
 *   /gzip       /echo, gzip-encoded whatever the client asked for
 *   /redirect   302 to https://127.0.0.2:PORT/echo
 *   other       200 "ok"
 * A plain-HTTP twin (same routes) listens on `httpPort`.
 */
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface Received {
  scheme: "https" | "http";
  method: string;
  host: string | undefined;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface Upstream {
  port: number;
  httpPort: number;
  caPem: string;
  /** The CA written to a file (for --upstream-ca). */
  caFile: string;
  received: Received[];
  stop(): Promise<void>;
}

/** A private CA and a leaf for localhost, 127.0.0.1 and 127.0.0.2 (also the proxy bench's upstream). */
export async function makePki(): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const s = webcrypto.subtle;
  const caKeys = (await s.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=test upstream CA",
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const leafKeys = (await s.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=localhost",
    issuer: ca.subject,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + 86_400_000),
    signingKey: caKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: "dns", value: "localhost" },
        { type: "ip", value: "127.0.0.1" },
        { type: "ip", value: "127.0.0.2" },
      ]),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await s.exportKey("pkcs8", leafKeys.privateKey)).toString("base64");
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/.{64}/g, "$&\n")}\n-----END PRIVATE KEY-----\n`;
  return { caPem: ca.toString("pem"), certPem: leaf.toString("pem"), keyPem };
}

export async function startUpstream(dir: string): Promise<Upstream> {
  const pki = await makePki();
  const received: Received[] = [];
  let port = 0;
  const handler = (scheme: "https" | "http") => (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({
        scheme,
        method: req.method ?? "",
        host: req.headers.host,
        path: req.url ?? "",
        headers: { ...req.headers },
      });
      const path = (req.url ?? "/").split("?")[0];
      if (path === "/echo") {
        res.writeHead(200, {
          "content-type": "application/json",
          "x-echo-auth": String(req.headers.authorization ?? ""),
        });
        res.end(JSON.stringify(req.headers));
      } else if (path === "/gzip") {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        res.end(gzipSync(JSON.stringify(req.headers)));
      } else if (path === "/split") {
        const body = Buffer.from(`value=${String(req.headers.authorization ?? "")};end`);
        res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
        let at = 0;
        const next = () => {
          if (at >= body.length) return void res.end();
          res.write(body.subarray(at, at + 3));
          at += 3;
          setTimeout(next, 2);
        };
        next();
      } else if (path === "/redirect") {
        res.writeHead(302, { location: `https://127.0.0.2:${port}/echo` }).end();
      } else res.end("ok");
    });
  };
  const tls = createHttpsServer({ key: pki.keyPem, cert: pki.certPem }, handler("https"));
  const plain = createHttpServer(handler("http"));
  // Every loopback address, so 127.0.0.2 is "another host" on the same machine.
  await new Promise<void>((r) => tls.listen(0, "0.0.0.0", r));
  await new Promise<void>((r) => plain.listen(0, "0.0.0.0", r));
  port = (tls.address() as { port: number }).port;
  const caFile = join(dir, "upstream-ca.pem");
  writeFileSync(caFile, pki.caPem);
  return {
    port,
    httpPort: (plain.address() as { port: number }).port,
    caPem: pki.caPem,
    caFile,
    received,
    stop: async () => {
      for (const s of [tls, plain]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}
