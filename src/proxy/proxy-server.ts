/**
 * The run's egress proxy: an HTTP/1.1 forward proxy with CONNECT. This file is the injection
 * path — the product — and is written by hand:
 *
 *   child ──CONNECT host:443 (Proxy-Authorization: the run token)──▶ policy
 *     deny    → 403 naming the host and how to allow it
 *     pass    → a raw TCP tunnel; TLS stays end to end, nothing is read or added
 *     inject  → TLS terminated here with a leaf from the run CA; each request inside is checked
 *               (SNI = CONNECT host = Host header), gets the grant's headers, goes upstream over
 *               a verified TLS connection, and its response is scrubbed on the way back.
 *
 * Plain-HTTP requests in absolute form are forwarded the same way (injected only when the
 * grant says so). Requests in origin form (or to the proxy's own address) go to the local
 * endpoints (the AWS credential broker), which check their own token.
 */
import {
  createServer as createHttpServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import {
  createServer as createNetServer,
  isIP,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from "node:net";
import type { Transform } from "node:stream";
import { createSecureContext, TLSSocket } from "node:tls";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { AuditEvent } from "../audit/events.js";

type RequestEvent = Extract<AuditEvent, { type: "request" }>;

import { systemRoots } from "../platform/system-roots.js";
import { constantTimeEqual } from "../secure/buffers.js";
import type { RunCA } from "./ca.js";
import { normalizeHost } from "./host-pattern.js";
import { type Decision, decide, type ProxyGrant, type ProxyPolicy } from "./policy.js";
import type { Scrubber } from "./scrub.js";

export interface ProxyOptions {
  runId: string;
  policy: ProxyPolicy;
  /** The run's proxy token (the password of HTTP(S)_PROXY's userinfo). */
  token: Buffer;
  ca: RunCA;
  scrubber: Scrubber;
  /** Extra PEM roots for upstream verification (--upstream-ca), on top of the system roots. */
  upstreamCAs?: string[];
  audit: (e: AuditEvent) => void;
  /** The port the child reaches the proxy at on 127.0.0.1 (its own requests to it are local). */
  localPort: number;
  /** Local endpoints (origin-form requests); false = not handled (404). */
  local?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

interface Target {
  host: string;
  port: number;
  grant: ProxyGrant;
}

/** Connection-level headers (RFC 9110 §7.6.1) and the proxy's own: never forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-authenticate",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  "x-gzip": createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

export class EnclaveProxy {
  readonly counts = { requests: 0, denied: 0 };
  private readonly front: Server;
  private readonly mitm: Server;
  private readonly listeners: NetServer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly targets = new WeakMap<Socket, Target>();
  private readonly httpsAgent: HttpsAgent;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });

  private localPort: number;
  private closing = false;

  constructor(private readonly opts: ProxyOptions) {
    this.localPort = opts.localPort;
    this.front = createHttpServer((req, res) => this.onPlainRequest(req, res));
    this.front.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
      this.onConnect(req, socket, head).catch((e) => {
        socket.destroy();
        this.deny(`internal error: ${(e as Error).message}`, { method: "CONNECT" });
      });
    });
    this.mitm = createHttpServer((req, res) => this.onTlsRequest(req, res));
    // Nothing secret in these errors; a broken client connection must not end the run.
    for (const s of [this.front, this.mitm]) s.on("clientError", (_e, sock: Socket) => sock.destroy());
    this.httpsAgent = new HttpsAgent({
      keepAlive: true,
      // The distribution's roots (what curl and git on this machine trust), not only Node's list.
      // One context for the run: given as `ca`, the ~150 roots would be parsed per connection.
      secureContext: createSecureContext({ ca: [systemRoots(), ...(opts.upstreamCAs ?? [])] }),
    });
  }

  /** Listen on a Unix socket (the sandbox's way out) or a TCP port on loopback. */
  async listen(where: { path: string } | { port: number; host?: string }): Promise<number | undefined> {
    const server = createNetServer((sock) => {
      // http.Server turns Nagle off only for sockets it accepts itself: without this, a small
      // response waits ~40 ms for the client's delayed ACK.
      sock.setNoDelay(true);
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
      this.front.emit("connection", sock);
    });
    this.listeners.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      if ("path" in where) server.listen(where.path, resolve);
      else server.listen(where.port, where.host ?? "127.0.0.1", resolve);
    });
    const addr = server.address();
    return typeof addr === "object" && addr ? addr.port : undefined;
  }

  /** The port the child knows the proxy by, once chosen (its requests to it are local). */
  setLocalPort(port: number): void {
    this.localPort = port;
  }

  async close(): Promise<void> {
    // Responses still in flight when the command exits are not recorded after the run's end.
    this.closing = true;
    for (const l of this.listeners) l.close();
    for (const s of this.sockets) s.destroy();
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
    this.front.close();
    this.mitm.close();
  }

  // ── authentication ──────────────────────────────────────────────────────────────────────────

  private authorized(req: IncomingMessage): boolean {
    const h = req.headers["proxy-authorization"];
    const m = typeof h === "string" ? /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h) : null;
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, "base64");
    const colon = decoded.indexOf(0x3a);
    const given = colon >= 0 ? decoded.subarray(colon + 1) : decoded;
    const ok = constantTimeEqual(given, this.opts.token);
    decoded.fill(0);
    return ok;
  }

  // ── CONNECT ─────────────────────────────────────────────────────────────────────────────────

  private async onConnect(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on("error", () => undefined);
    if (!this.authorized(req)) {
      this.deny("missing or wrong proxy token", { method: "CONNECT" });
      socket.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="enclave"\r\n' +
          "Content-Length: 0\r\nConnection: close\r\n\r\n",
      );
      return;
    }
    const target = parseAuthority(req.url ?? "");
    if (!target) {
      this.deny("malformed CONNECT target", { method: "CONNECT" });
      socket.end(simpleResponse(400, "Bad Request", "CONNECT needs host:port\n"));
      return;
    }
    const { host, port } = target;
    const decision = decide(this.opts.policy, host, port, "https");
    if (decision.kind === "deny") {
      this.deny(decision.reason, { method: "CONNECT", host, port });
      socket.end(simpleResponse(403, "Forbidden", `enclave: ${decision.reason}\n`));
      return;
    }
    if (decision.kind === "pass") {
      this.tunnel(socket, head, host, port);
      return;
    }
    const ctx = await this.opts.ca.contextFor(host);
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) socket.unshift(head);
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext: ctx,
      ALPNProtocols: ["http/1.1"],
    });
    tlsSocket.on("error", () => socket.destroy());
    this.targets.set(tlsSocket, { host, port, grant: decision.grant });
    this.mitm.emit("connection", tlsSocket);
  }

  /** A host that is allowed but not granted: bytes pass untouched, TLS stays end to end. */
  private tunnel(client: Socket, head: Buffer, host: string, port: number): void {
    const started = performance.now();
    const upstream = netConnect({ host, port });
    let status = 200;
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.once("error", (e) => {
      if (!connected) {
        status = 502;
        client.end(
          simpleResponse(
            502,
            "Bad Gateway",
            `enclave: cannot reach ${host}:${port} (${(e as NodeJS.ErrnoException).code ?? e.message})\n`,
          ),
        );
      } else client.destroy();
    });
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => {
      client.destroy();
      this.record({
        method: "CONNECT",
        host,
        port,
        path: "",
        status,
        grant: null,
        mode: "tunnel",
        started,
        bytesIn: upstream.bytesRead,
        bytesOut: upstream.bytesWritten,
      });
    });
  }

  // ── requests inside an injected TLS connection ──────────────────────────────────────────────

  private onTlsRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket as TLSSocket;
    const t = this.targets.get(socket);
    if (!t) {
      res.writeHead(500).end();
      return;
    }
    const path = req.url ?? "/";
    const problem = mismatch(socket, req, t, path);
    if (problem) {
      this.refuse(res, problem.status, problem.reason, req.method, t.host, t.port, path);
      return;
    }
    this.forward(req, res, { ...t, path, secure: true, inject: t.grant });
  }

  // ── plain HTTP (absolute form) and local endpoints (origin form) ────────────────────────────

  private onPlainRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? "";
    if (url.startsWith("/")) {
      this.local(req, res);
      return;
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      this.refuse(res, 400, "malformed request target", req.method);
      return;
    }
    const host = normalizeHost(parsed.hostname);
    const port = parsed.port ? Number(parsed.port) : 80;
    if (
      parsed.protocol === "http:" &&
      port === this.localPort &&
      (host === "127.0.0.1" || host === "localhost")
    ) {
      req.url = `${parsed.pathname}${parsed.search}`;
      this.local(req, res);
      return;
    }
    if (!this.authorized(req)) {
      this.deny("missing or wrong proxy token", { method: req.method, host, port, path: parsed.pathname });
      res.writeHead(407, { "Proxy-Authenticate": 'Basic realm="enclave"', Connection: "close" }).end();
      return;
    }
    if (parsed.protocol !== "http:") {
      this.refuse(res, 400, `only http:// URLs may be proxied without CONNECT`, req.method, host, port);
      return;
    }
    const decision: Decision = decide(this.opts.policy, host, port, "http");
    if (decision.kind === "deny") {
      this.refuse(res, 403, decision.reason, req.method, host, port, parsed.pathname);
      return;
    }
    const hostHeader = parseAuthority(req.headers.host ?? "", 80);
    if (decision.kind === "inject" && (!hostHeader || hostHeader.host !== host || hostHeader.port !== port)) {
      this.refuse(
        res,
        421,
        `Host header does not match ${host}:${port}; no credential sent`,
        req.method,
        host,
        port,
      );
      return;
    }
    this.forward(req, res, {
      host,
      port,
      path: `${parsed.pathname}${parsed.search}`,
      secure: false,
      inject: decision.kind === "inject" ? decision.grant : null,
    });
  }

  private local(req: IncomingMessage, res: ServerResponse): void {
    if (this.opts.local?.(req, res)) return;
    res.writeHead(404, { "Content-Type": "text/plain" }).end("enclave: no such endpoint\n");
  }

  // ── forwarding ──────────────────────────────────────────────────────────────────────────────

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    to: { host: string; port: number; path: string; secure: boolean; inject: ProxyGrant | null },
  ): void {
    const started = performance.now();
    const method = req.method ?? "GET";
    if (method === "TRACE" || method === "TRACK") {
      this.refuse(
        res,
        405,
        `${method} is refused: it would echo the injected credential back`,
        method,
        to.host,
        to.port,
        to.path,
      );
      return;
    }
    if (req.headers.upgrade) {
      this.refuse(
        res,
        501,
        "protocol upgrades (WebSocket) are not supported through enclave's proxy yet",
        method,
        to.host,
        to.port,
        to.path,
      );
      return;
    }
    const headers = forwardHeaders(req.headers, to.inject);
    const send = to.secure ? httpsRequest : httpRequest;
    const upstream = send({
      host: to.host,
      port: to.port,
      method,
      path: to.path,
      headers,
      agent: to.secure ? this.httpsAgent : this.httpAgent,
      servername: to.secure && !isIP(to.host) ? to.host : undefined,
    });
    let bytesOut = 0;
    req.on("data", (c: Buffer) => (bytesOut += c.length));
    req.pipe(upstream);
    const done = (status: number, bytesIn: number) =>
      this.record({
        method,
        host: to.host,
        port: to.port,
        path: to.path,
        status,
        bytesIn,
        bytesOut,
        started,
        grant: to.inject?.name ?? null,
        mode: to.inject ? "inject" : "http",
      });
    upstream.on("error", (e) => {
      const why = upstreamProblem(e as NodeJS.ErrnoException, to.host, to.port);
      if (!res.headersSent) {
        res.writeHead(502, { "Content-Type": "text/plain", Connection: "close" }).end(`enclave: ${why}\n`);
        done(502, 0);
      } else res.destroy();
    });
    upstream.on("response", (up) => {
      const outHeaders = responseHeaders(up.headers, this.opts.scrubber, to.inject !== null);
      const decode = to.inject
        ? DECODERS[String(up.headers["content-encoding"] ?? "").toLowerCase()]
        : undefined;
      if (decode) {
        delete outHeaders["content-encoding"];
        delete outHeaders["content-length"];
      }
      res.writeHead(up.statusCode ?? 502, outHeaders);
      let bytesIn = 0;
      up.on("data", (c: Buffer) => (bytesIn += c.length));
      const stages: NodeJS.ReadWriteStream[] = [];
      if (decode) stages.push(decode());
      if (to.inject) stages.push(this.opts.scrubber.stream());
      // Plain pipes, not stream.pipeline: on Node 20 every pipeline ends by aborting an
      // AbortController, which builds a DOMException (with a stack) per request.
      let tail: NodeJS.ReadableStream = up;
      for (const stage of stages) tail = tail.pipe(stage);
      tail.pipe(res);
      let recorded = false;
      const finish = () => {
        if (recorded) return;
        recorded = true;
        done(up.statusCode ?? 0, bytesIn);
      };
      const fail = () => {
        up.destroy();
        res.destroy();
        finish();
      };
      for (const s of [up, ...stages]) s.on("error", fail);
      res.on("finish", finish);
      res.on("close", () => {
        if (!res.writableFinished) fail();
      });
    });
  }

  // ── bookkeeping ─────────────────────────────────────────────────────────────────────────────

  private refuse(
    res: ServerResponse,
    status: number,
    reason: string,
    method?: string,
    host?: string,
    port?: number,
    path?: string,
  ): void {
    this.deny(reason, { method, host, port, path });
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" }).end(`enclave: ${reason}\n`);
  }

  private deny(
    reason: string,
    where: { method?: string; host?: string; port?: number; path?: string },
  ): void {
    if (this.closing) return;
    this.counts.denied++;
    const e: AuditEvent = { type: "denied", run: this.opts.runId, reason };
    if (where.method !== undefined) e.method = where.method;
    if (where.host !== undefined) e.host = where.host;
    if (where.port !== undefined) e.port = where.port;
    if (where.path !== undefined) e.path = stripQuery(where.path);
    this.opts.audit(e);
  }

  /** One `request` record; `started` (performance.now()) becomes the duration. */
  private record(r: Omit<RequestEvent, "type" | "run" | "durationMs"> & { started: number }): void {
    if (this.closing) return;
    this.counts.requests++;
    const { started, ...fields } = r;
    this.opts.audit({
      type: "request",
      run: this.opts.runId,
      ...fields,
      path: stripQuery(r.path),
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
    });
  }
}

/**
 * Credentials go only where all three names agree: CONNECT target, TLS SNI and Host header
 * (an IP target has no SNI). Any disagreement is a misdirected request: no credential.
 */
function mismatch(
  socket: TLSSocket,
  req: IncomingMessage,
  t: Target,
  path: string,
): { status: number; reason: string } | undefined {
  const sni = socket.servername ? normalizeHost(socket.servername) : undefined;
  if (sni !== undefined ? sni !== t.host : !isIP(t.host))
    return {
      status: 421,
      reason: `TLS server name ${sni ?? "(none)"} does not match the CONNECT target ${t.host}; no credential sent`,
    };
  const hostHeader = parseAuthority(req.headers.host ?? "", 443);
  if (!hostHeader || hostHeader.host !== t.host || hostHeader.port !== t.port)
    return {
      status: 421,
      reason: `Host header ${req.headers.host ?? "(none)"} does not match the CONNECT target ${t.host}:${t.port}; no credential sent`,
    };
  if (!path.startsWith("/"))
    return { status: 400, reason: "the request target inside a CONNECT tunnel must be a path" };
  return undefined;
}

/** `host:port` (CONNECT target, Host header) → normalised parts; `defaultPort` when absent. */
export function parseAuthority(s: string, defaultPort?: number): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+)(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) return undefined;
  const port = m[2] !== undefined ? Number(m[2]) : defaultPort;
  if (port === undefined || port < 1 || port > 65535) return undefined;
  return { host: normalizeHost(m[1]!), port };
}

function stripQuery(path: string): string {
  const cut = path.search(/[?#]/);
  return cut === -1 ? path : path.slice(0, cut);
}

function forwardHeaders(
  incoming: IncomingHttpHeaders,
  grant: ProxyGrant | null,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const replaced = new Set(grant?.headers.map((h) => h.name.toLowerCase()));
  const connectionListed = String(incoming.connection ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase());
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || connectionListed.includes(name) || replaced.has(name))
      continue;
    out[name] = value;
  }
  if (grant) {
    // Scrubbing needs to read the body: ask for it unencoded (an upstream that encodes anyway is decoded).
    out["accept-encoding"] = "identity";
    for (const h of grant.headers) out[h.name] = h.value;
  }
  return out;
}

function responseHeaders(
  incoming: IncomingHttpHeaders,
  scrubber: Scrubber,
  scrub: boolean,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = !scrub
      ? value
      : Array.isArray(value)
        ? value.map((v) => scrubber.scrubString(v))
        : scrubber.scrubString(value);
  }
  return out;
}

function simpleResponse(status: number, text: string, body: string): string {
  return (
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

function upstreamProblem(e: NodeJS.ErrnoException, host: string, port: number): string {
  const code = e.code ?? "";
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(code))
    return (
      `the certificate of ${host}:${port} could not be verified (${code}); no credential was sent. ` +
      "If it uses a private CA, pass --upstream-ca FILE"
    );
  return `cannot reach ${host}:${port} (${code || e.message})`;
}
