/**
 * The run's egress proxy: an HTTP/1.1 forward proxy with CONNECT. This file decides where each
 * request may go; the HTTP it speaks is hand-written too (http1.ts parses, client-connection.ts
 * reads the child's requests in order, exchange.ts relays one request and its response,
 * upstream-pool.ts keeps upstream connections alive):
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
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import {
  createServer as createNetServer,
  isIP,
  type Server as NetServer,
  connect as netConnect,
  type Socket,
} from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";
import type { AuditEvent } from "../audit/events.js";
import { stripQuery } from "../audit/record.js";
import { systemRoots } from "../platform/system-roots.js";
import { constantTimeEqual } from "../secure/buffers.js";
import type { RunCA } from "./ca.js";
import { type BodySink, ClientConnection, simpleResponse } from "./client-connection.js";
import { ABORTED, Exchange, type ExchangeEnv, type ExchangeTarget } from "./exchange.js";
import { normalizeHost } from "./host-pattern.js";
import { HttpParseError, headerValue, type RequestHead } from "./http1.js";
import {
  type Decision,
  decide,
  guardedLookup,
  LOCAL_TARGET_CODE,
  type ProxyGrant,
  type ProxyPolicy,
} from "./policy.js";
import type { Scrubber } from "./scrub.js";
import { UpstreamPool } from "./upstream-pool.js";

type RequestEvent = Extract<AuditEvent, { type: "request" }>;

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

export class EnclaveProxy {
  readonly counts = { requests: 0, denied: 0 };
  /** Node's HTTP server, only for the local endpoints (the credential broker). */
  private readonly localServer: Server;
  private readonly listeners: NetServer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly pool: UpstreamPool;
  private readonly inflight = new Set<Exchange>();
  private readonly exchangeEnv: ExchangeEnv;
  /** Each open tunnel's recorder (called once: when it closes, or when the run ends). */
  private readonly openTunnels = new Set<(error?: string) => void>();

  private localPort: number;
  private closing = false;

  constructor(private readonly opts: ProxyOptions) {
    this.localPort = opts.localPort;
    this.localServer = createHttpServer((req, res) => this.local(req, res));
    this.localServer.on("clientError", (_e, sock: Socket) => sock.destroy());
    this.pool = new UpstreamPool({
      // The distribution's roots (what curl and git on this machine trust), not only Node's list.
      // One context for the run: given as `ca`, the ~150 roots would be parsed per connection.
      secureContext: createSecureContext({ ca: [systemRoots(), ...(opts.upstreamCAs ?? [])] }),
    });
    this.exchangeEnv = { pool: this.pool, scrubber: opts.scrubber };
  }

  /** Listen on a Unix socket (the sandbox's way out) or a TCP port on loopback. */
  async listen(where: { path: string } | { port: number; host?: string }): Promise<number | undefined> {
    // Half-open: a child may send its request and shut down its side, then read the response.
    const server = createNetServer({ allowHalfOpen: true }, (sock) => {
      // A small response must not wait ~40 ms for the client's delayed ACK.
      sock.setNoDelay(true);
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
      new ClientConnection(
        sock,
        (head, raw, conn) => this.onFrontRequest(head, raw, conn),
        (e, head) => this.deny(e.message, { method: head?.method }),
      );
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
    // Exchanges still open are recorded now (the credential may have gone upstream already),
    // before the run's end; nothing is recorded after it.
    for (const x of [...this.inflight]) x.abort("the run ended before the response was complete");
    for (const finish of [...this.openTunnels]) finish("the run ended with the tunnel open");
    this.closing = true;
    for (const l of this.listeners) l.close();
    for (const s of this.sockets) s.destroy();
    this.pool.destroy();
    this.localServer.close();
  }

  // ── authentication ──────────────────────────────────────────────────────────────────────────

  private authorized(head: RequestHead): boolean {
    const h = headerValue(head.headers, "proxy-authorization");
    const m = h !== undefined ? /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h) : null;
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, "base64");
    const colon = decoded.indexOf(0x3a);
    const given = colon >= 0 ? decoded.subarray(colon + 1) : decoded;
    const ok = constantTimeEqual(given, this.opts.token);
    decoded.fill(0);
    return ok;
  }

  // ── requests on the proxy's own port: CONNECT, absolute form, local endpoints ───────────────

  private onFrontRequest(head: RequestHead, raw: Buffer, conn: ClientConnection): BodySink | null {
    if (head.method === "CONNECT") {
      const rest = conn.takeOver();
      this.onConnect(head, conn.socket, rest).catch((e) => {
        conn.socket.destroy();
        this.deny(`internal error: ${(e as Error).message}`, { method: "CONNECT" });
      });
      return null;
    }
    if (head.target.startsWith("/")) {
      this.handToLocal(conn, raw);
      return null;
    }
    let parsed: URL;
    try {
      parsed = new URL(head.target);
    } catch {
      this.refuse(conn, 400, "malformed request target", head.method);
      return null;
    }
    const host = normalizeHost(parsed.hostname);
    const port = parsed.port ? Number(parsed.port) : 80;
    const path = `${parsed.pathname}${parsed.search}`;
    if (
      parsed.protocol === "http:" &&
      port === this.localPort &&
      (host === "127.0.0.1" || host === "localhost")
    ) {
      this.handToLocal(conn, originFormHead(raw, path));
      return null;
    }
    if (!this.authorized(head)) {
      this.deny("missing or wrong proxy token", { method: head.method, host, port, path: parsed.pathname });
      conn.reply(407, "", { close: true, headers: 'Proxy-Authenticate: Basic realm="enclave"\r\n' });
      return null;
    }
    if (parsed.protocol !== "http:") {
      this.refuse(conn, 400, "only http:// URLs may be proxied without CONNECT", head.method, host, port);
      return null;
    }
    const decision: Decision = decide(this.opts.policy, host, port, "http");
    if (decision.kind === "deny") {
      this.refuse(conn, 403, decision.reason, head.method, host, port, parsed.pathname);
      return null;
    }
    if (decision.kind === "inject") {
      const problem = hostHeaderProblem(head, host, port, 80, "request target");
      if (problem) {
        this.refuse(conn, problem.status, problem.reason, head.method, host, port);
        return null;
      }
    }
    return this.forward(conn, head, {
      host,
      port,
      path,
      secure: false,
      inject: decision.kind === "inject" ? decision.grant : null,
      lookup: decision.kind === "pass" && decision.open ? guardedLookup : undefined,
    });
  }

  /**
   * Origin-form requests are for the local endpoints, served by node's HTTP server. It reads the
   * socket's handle directly, so the bytes already read are given to it as a data event.
   */
  private handToLocal(conn: ClientConnection, head: Buffer): void {
    const rest = conn.takeOver();
    const sock = conn.socket;
    this.localServer.emit("connection", sock);
    sock.emit("data", rest.length > 0 ? Buffer.concat([head, rest]) : head);
    sock.resume();
  }

  private local(req: IncomingMessage, res: ServerResponse): void {
    if (this.opts.local?.(req, res)) return;
    res.writeHead(404, { "Content-Type": "text/plain" }).end("enclave: no such endpoint\n");
  }

  // ── CONNECT ─────────────────────────────────────────────────────────────────────────────────

  private async onConnect(req: RequestHead, socket: Socket, head: Buffer): Promise<void> {
    if (!this.authorized(req)) {
      this.deny("missing or wrong proxy token", { method: "CONNECT" });
      socket.end(
        simpleResponse(407, "", { close: true, headers: 'Proxy-Authenticate: Basic realm="enclave"\r\n' }),
      );
      return;
    }
    const target = parseAuthority(req.target);
    if (!target) {
      this.deny("malformed CONNECT target", { method: "CONNECT" });
      socket.end(simpleResponse(400, "CONNECT needs host:port\n", { close: true }));
      return;
    }
    const { host, port } = target;
    const decision = decide(this.opts.policy, host, port, "https");
    if (decision.kind === "deny") {
      this.deny(decision.reason, { method: "CONNECT", host, port });
      socket.end(simpleResponse(403, `enclave: ${decision.reason}\n`, { close: true }));
      return;
    }
    if (decision.kind === "pass") {
      this.tunnel(socket, head, host, port, decision.open);
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
    const t: Target = { host, port, grant: decision.grant };
    new ClientConnection(
      tlsSocket,
      (h, _raw, conn) => this.onTlsRequest(t, h, conn),
      (e, h) => this.deny(e.message, { method: h?.method, host, port, path: h?.target }),
    );
  }

  /** A host that is allowed but not granted: bytes pass untouched, TLS stays end to end. */
  private tunnel(client: Socket, head: Buffer, host: string, port: number, open: boolean): void {
    const started = performance.now();
    const upstream = netConnect({ host, port, lookup: open ? guardedLookup : undefined });
    let status = 200;
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.once("error", (e: NodeJS.ErrnoException) => {
      if (connected) {
        client.destroy();
        return;
      }
      status = e.code === LOCAL_TARGET_CODE ? 403 : 502;
      if (status === 403) this.deny(e.message, { method: "CONNECT", host, port });
      client.end(simpleResponse(status, `enclave: ${upstreamProblem(e, host, port)}\n`, { close: true }));
    });
    client.once("close", () => upstream.destroy());
    const finish = (error?: string) => {
      if (!this.openTunnels.delete(finish)) return;
      // A refused address is a denial (recorded as such), not a request.
      if (status === 403) return;
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
        ...(error ? { error } : {}),
      });
    };
    this.openTunnels.add(finish);
    upstream.once("close", () => {
      client.destroy();
      finish();
    });
  }

  // ── requests inside an injected TLS connection ──────────────────────────────────────────────

  private onTlsRequest(t: Target, head: RequestHead, conn: ClientConnection): BodySink | null {
    const problem = mismatch(conn.socket as TLSSocket, head, t);
    if (problem) {
      this.refuse(conn, problem.status, problem.reason, head.method, t.host, t.port, head.target);
      return null;
    }
    return this.forward(conn, head, {
      host: t.host,
      port: t.port,
      path: head.target,
      secure: true,
      inject: t.grant,
    });
  }

  // ── forwarding ──────────────────────────────────────────────────────────────────────────────

  private forward(conn: ClientConnection, head: RequestHead, to: ExchangeTarget): BodySink | null {
    const method = head.method;
    if (method === "TRACE" || method === "TRACK") {
      const why = `${method} is refused: it would echo the injected credential back`;
      this.refuse(conn, 405, why, method, to.host, to.port, to.path);
      return null;
    }
    if (headerValue(head.headers, "upgrade") !== undefined) {
      const why = "protocol upgrades (WebSocket) are not supported through enclave's proxy yet";
      this.refuse(conn, 501, why, method, to.host, to.port, to.path);
      return null;
    }
    const started = performance.now();
    const exchange = new Exchange(this.exchangeEnv, head, to, conn.socket, (o) => {
      this.inflight.delete(exchange);
      // Proxy-made text can quote the upstream: scrubbed before the child or the log sees it.
      const e = o.error && to.inject ? scrubbedError(o.error, this.opts.scrubber) : o.error;
      const clientGone = e?.code === ABORTED;
      const refused = e?.code === LOCAL_TARGET_CODE;
      // What the child got: the upstream's status, or the proxy's own answer when none came.
      const status = o.status !== 0 || !e || clientGone ? o.status : refused ? 403 : 502;
      if (refused) this.deny(e!.message, { method, host: to.host, port: to.port, path: to.path });
      else
        this.record({
          method,
          host: to.host,
          port: to.port,
          path: to.path,
          status,
          bytesIn: o.bytesIn,
          bytesOut: o.bytesOut,
          started,
          grant: to.inject?.name ?? null,
          mode: to.inject ? "inject" : "http",
          ...(e ? { error: e.message } : {}),
        });
      if (clientGone) return;
      if (e && o.status === 0)
        conn.reply(status, `enclave: ${upstreamProblem(e, to.host, to.port)}\n`, { close: true });
      else if (e) conn.abortResponse();
      else conn.done(o.reusable);
    });
    this.inflight.add(exchange);
    return exchange;
  }

  // ── bookkeeping ─────────────────────────────────────────────────────────────────────────────

  private refuse(
    conn: ClientConnection,
    status: number,
    reason: string,
    method?: string,
    host?: string,
    port?: number,
    path?: string,
  ): void {
    this.deny(reason, { method, host, port, path });
    conn.reply(status, `enclave: ${reason}\n`);
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
  head: RequestHead,
  t: Target,
): { status: number; reason: string } | undefined {
  const sni = socket.servername ? normalizeHost(socket.servername) : undefined;
  if (sni !== undefined ? sni !== t.host : !isIP(t.host))
    return {
      status: 421,
      reason: `TLS server name ${sni ?? "(none)"} does not match the CONNECT target ${t.host}; no credential sent`,
    };
  const problem = hostHeaderProblem(head, t.host, t.port, 443, "CONNECT target");
  if (problem) return problem;
  if (!head.target.startsWith("/"))
    return { status: 400, reason: "the request target inside a CONNECT tunnel must be a path" };
  return undefined;
}

/** The request's single Host header must name the target (the port defaulting by scheme). */
function hostHeaderProblem(
  head: RequestHead,
  host: string,
  port: number,
  defaultPort: number,
  what: string,
): { status: number; reason: string } | undefined {
  const fields = head.headers.filter((h) => h[2] === "host");
  if (fields.length !== 1) return { status: 400, reason: "a request needs exactly one Host header" };
  const given = fields[0]![1];
  const parsed = parseAuthority(given, defaultPort);
  if (!parsed || parsed.host !== host || parsed.port !== port)
    return {
      status: 421,
      reason: `Host header ${given || "(empty)"} does not match the ${what} ${host}:${port}; no credential sent`,
    };
  return undefined;
}

/** The same head with its request line's target in origin form (for the local endpoints). */
function originFormHead(raw: Buffer, path: string): Buffer {
  const text = raw.toString("latin1");
  const eol = text.indexOf("\r\n");
  const [method, , version] = text.slice(0, eol).split(" ");
  return Buffer.from(`${method} ${path} ${version}${text.slice(eol)}`, "latin1");
}

/** `host:port` (CONNECT target, Host header) → normalised parts; `defaultPort` when absent. */
export function parseAuthority(s: string, defaultPort?: number): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s/]+)(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) return undefined;
  const port = m[2] !== undefined ? Number(m[2]) : defaultPort;
  if (port === undefined || port < 1 || port > 65535) return undefined;
  return { host: normalizeHost(m[1]!), port };
}

function scrubbedError(e: NodeJS.ErrnoException, scrubber: Scrubber): NodeJS.ErrnoException {
  const message = scrubber.scrubText(e.message);
  if (message === e.message) return e;
  // Same class (HttpParseError stays one), same code, the message without the value.
  return Object.assign(Object.create(Object.getPrototypeOf(e)), e, { message });
}

function upstreamProblem(e: NodeJS.ErrnoException, host: string, port: number): string {
  if (e instanceof HttpParseError) return `${host}:${port} broke the protocol: ${e.message}`;
  if (e.code === LOCAL_TARGET_CODE) return e.message;
  const code = e.code ?? "";
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT/.test(code))
    return (
      `the certificate of ${host}:${port} could not be verified (${code}); no credential was sent. ` +
      "If it uses a private CA, pass --upstream-ca FILE"
    );
  return `cannot reach ${host}:${port} (${code || e.message})`;
}
