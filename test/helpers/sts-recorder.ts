/**
 * A recording HTTP proxy in front of moto_server's STS, for the AWS provider tests: it keeps every
 * STS request's parameters (what enclave really put on the wire — moto accepts a session policy
 * or a SourceIdentity but does not show them), and can answer a request itself with an error
 * STS documents but moto never produces (AccessDenied from a trust policy, ExpiredToken …).
 */
import { createServer, request, type Server } from "node:http";

export interface StsCall {
  Action?: string;
  RoleArn?: string;
  RoleSessionName?: string;
  SourceIdentity?: string;
  DurationSeconds?: string;
  ExternalId?: string;
  Policy?: string;
  [k: string]: string | undefined;
}

export interface StsFault {
  status: number;
  code: string;
  message: string;
}

export interface StsRecorder {
  endpoint: string;
  calls: StsCall[];
  /** AssumeRole calls only. */
  assumeCalls(): StsCall[];
  /** Decide, per request, to answer with a fault instead of forwarding to moto. */
  fault: ((call: StsCall) => StsFault | undefined) | undefined;
  /** Hold every AssumeRole this long before forwarding it (a slow STS). */
  delayMs: number;
  close(): Promise<void>;
}

function errorXml(f: StsFault): string {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  return (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
    `<Code>${esc(f.code)}</Code><Message>${esc(f.message)}</Message></Error>` +
    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
  );
}

export async function startStsRecorder(upstream: string): Promise<StsRecorder> {
  const up = new URL(upstream);
  const rec: StsRecorder = {
    endpoint: "",
    calls: [],
    assumeCalls: () => rec.calls.filter((c) => c.Action === "AssumeRole"),
    fault: undefined,
    delayMs: 0,
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const call = Object.fromEntries(new URLSearchParams(body.toString("utf8"))) as StsCall;
      rec.calls.push(call);
      const f = rec.fault?.(call);
      if (f) {
        const xml = errorXml(f);
        res.writeHead(f.status, { "content-type": "text/xml", "content-length": Buffer.byteLength(xml) });
        res.end(xml);
        return;
      }
      if (call.Action === "AssumeRole" && rec.delayMs > 0)
        await new Promise((r) => setTimeout(r, rec.delayMs));
      const fwd = request(
        { host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      fwd.on("error", () => res.destroy());
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  rec.endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return rec;
}
