/**
 * One request/response exchange through the proxy — the injection path, by hand:
 *
 *   request head  → hop-by-hop fields dropped, the grant's headers put in place of whatever the
 *                   child sent under those names, Accept-Encoding: identity (scrubbing reads the
 *                   body), canonical framing; written upstream with the body as it arrives.
 *   response head → interim (1xx) responses passed on; hop-by-hop fields dropped; every
 *                   injected value scrubbed out of the head.
 *   response body → decoded when the upstream encoded it anyway, scrubbed as it streams, and
 *                   written to the child with each upstream read in one write (one TLS record).
 *
 * The upstream connection goes back to the pool only when the exchange ended cleanly on a
 * message boundary; a reused connection that the upstream had closed is retried once on a new
 * one when the request had no body (nothing was lost).
 */
import type { Socket } from "node:net";
import type { Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import {
  type BodyFraming,
  type BodyReader,
  bodyReader,
  CRLF,
  chunkFrame,
  type Header,
  HttpParseError,
  headEnd,
  headerValues,
  LAST_CHUNK,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
  responseFraming,
} from "./http1.js";
import type { ProxyGrant } from "./policy.js";
import type { Scrubber, ScrubWindow } from "./scrub.js";
import type { UpstreamPool, UpstreamTarget } from "./upstream-pool.js";

/** Connection-level fields (RFC 9110 §7.6.1), the proxy's own, and framing (set anew). */
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
  "content-length",
]);

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  "x-gzip": createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The error code of an exchange abort()ed by its client or by the proxy closing. */
export const ABORTED = "ENCLAVE_ABORTED";

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Body bytes queued before the upstream connection is ready; beyond this the client waits. */
const MAX_QUEUED_BODY = 64 * 1024;

export interface ExchangeTarget extends UpstreamTarget {
  /** Origin-form request target sent upstream. */
  path: string;
  inject: ProxyGrant | null;
}

export interface ExchangeOutcome {
  /** The status the child got (502 for a proxy-made error), 0 if it got nothing. */
  status: number;
  bytesIn: number;
  bytesOut: number;
  /** The client connection can carry another request. */
  reusable: boolean;
  /** Why the exchange failed, if it did (for the proxy-made 502 and the audit). */
  error?: NodeJS.ErrnoException;
}

export interface ExchangeEnv {
  pool: UpstreamPool;
  scrubber: Scrubber;
}

export class Exchange {
  private upstream: Socket | null = null;
  private reused = false;
  private retried = false;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private requestEnded = false;
  private bodySentUpstream = false;
  private ended = false;
  /** Waiting for a drain: of the upstream (the client is paused), of the client (the source is). */
  private upstreamDrain: (() => void) | null = null;
  private upstreamDrainSocket: Socket | null = null;
  private clientDrain: (() => void) | null = null;
  // Response side.
  private buf: Buffer | null = null;
  private res: ResponseHead | null = null;
  private reader: BodyReader | null = null;
  private decoder: Transform | null = null;
  private window: ScrubWindow | null = null;
  private chunkedToClient = false;
  /** The upstream's body ends when it closes the connection. */
  private closeDelimited = false;
  private closeClient: boolean;
  private headSent = false;
  private bytesIn = 0;
  private bytesOut = 0;

  constructor(
    private readonly env: ExchangeEnv,
    private readonly req: RequestHead,
    private readonly to: ExchangeTarget,
    private readonly client: Socket,
    private readonly onEnd: (o: ExchangeOutcome) => void,
  ) {
    this.closeClient = !req.keepAlive;
    this.requestEnded = req.framing.kind === "none";
    this.connect();
  }

  /** Request body bytes from the client, in order. */
  body(chunk: Buffer): void {
    this.bytesOut += chunk.length;
    const data = this.req.framing.kind === "chunked" ? Buffer.concat(chunkFrame(chunk)) : chunk;
    if (this.upstream && this.queued.length === 0) this.writeUpstream(data);
    else {
      this.queued.push(data);
      this.queuedBytes += data.length;
      if (this.queuedBytes > MAX_QUEUED_BODY) this.client.pause();
    }
  }

  bodyEnd(): void {
    this.requestEnded = true;
    if (this.req.framing.kind !== "chunked") return;
    if (this.upstream && this.queued.length === 0) this.writeUpstream(LAST_CHUNK);
    else this.queued.push(LAST_CHUNK);
  }

  /** The client went away (or the run is ending): stop, and do not reuse the upstream connection. */
  abort(why = "the client closed the connection"): void {
    this.fail(Object.assign(new Error(why), { code: ABORTED }));
  }

  // ── upstream connection ─────────────────────────────────────────────────────────────────────

  private connect(): void {
    const idle = this.env.pool.takeIdle(this.to);
    if (idle) {
      this.attach(idle, true);
      return;
    }
    this.env.pool.open(this.to).then(
      (socket) => {
        // The child gave up meanwhile: the fresh connection is still good for the next request.
        if (this.ended) this.env.pool.release(this.to, socket);
        else this.attach(socket, false);
      },
      (e: NodeJS.ErrnoException) => this.fail(e),
    );
  }

  private attach(socket: Socket, reused: boolean): void {
    this.upstream = socket;
    this.reused = reused;
    socket.on("data", this.onUpstreamData);
    socket.on("end", this.onUpstreamEnd);
    socket.on("error", this.onUpstreamError);
    socket.on("close", this.onUpstreamClose);
    socket.resume();
    socket.cork();
    // Built per connection attempt, wiped as soon as the socket is done with it.
    const head = requestHead(this.req, this.to);
    socket.write(head, () => head.fill(0));
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    for (const q of queued) this.writeUpstream(q);
    socket.uncork();
    if (this.client.isPaused() && !this.requestEnded) this.client.resume();
  }

  private writeUpstream(data: Buffer): void {
    const up = this.upstream!;
    this.bodySentUpstream ||= data !== LAST_CHUNK;
    if (!up.write(data) && !this.requestEnded && !this.upstreamDrain) {
      this.client.pause();
      this.upstreamDrain = () => {
        this.upstreamDrain = null;
        if (!this.ended) this.client.resume();
      };
      this.upstreamDrainSocket = up;
      up.once("drain", this.upstreamDrain);
    }
  }

  private detach(): Socket {
    const up = this.upstream!;
    up.removeListener("data", this.onUpstreamData);
    up.removeListener("end", this.onUpstreamEnd);
    up.removeListener("error", this.onUpstreamError);
    up.removeListener("close", this.onUpstreamClose);
    this.upstream = null;
    return up;
  }

  /**
   * Before any response byte, a reused connection may simply have been closed by the upstream
   * while idle. Sending again is safe only if nothing of a body went out and the method is
   * idempotent (RFC 9110 §9.2.2): the upstream may have acted on the first copy.
   */
  private retryable(): boolean {
    return (
      this.reused &&
      !this.retried &&
      IDEMPOTENT.has(this.req.method) &&
      this.buf === null &&
      this.res === null &&
      !this.bodySentUpstream
    );
  }

  private readonly onUpstreamError = (e: NodeJS.ErrnoException) => this.upstreamGone(e);
  private readonly onUpstreamClose = () =>
    this.upstreamGone(Object.assign(new Error("the upstream closed the connection"), { code: "ECONNRESET" }));
  private readonly onUpstreamEnd = () => {
    if (this.reader && !this.reader.done && this.closeDelimited) {
      this.finishBody();
      return;
    }
    this.upstreamGone(
      Object.assign(new Error("the upstream closed the connection mid-response"), { code: "ECONNRESET" }),
    );
  };

  private upstreamGone(e: NodeJS.ErrnoException): void {
    if (this.ended) return;
    const up = this.detach();
    up.destroy();
    if (this.retryable()) {
      this.retried = true;
      // An empty chunked body: its terminating chunk went to the dead connection; send it again.
      if (this.requestEnded && this.req.framing.kind === "chunked") this.queued = [LAST_CHUNK];
      this.connect();
      return;
    }
    this.fail(e);
  }

  // ── response ────────────────────────────────────────────────────────────────────────────────

  private readonly onUpstreamData = (chunk: Buffer) => {
    if (this.ended) return;
    this.bytesIn += chunk.length;
    try {
      this.client.cork();
      this.consume(chunk);
    } catch (e) {
      this.fail(e as NodeJS.ErrnoException);
    } finally {
      this.client.uncork();
    }
  };

  private consume(chunk: Buffer): void {
    let data = chunk;
    while (this.reader === null) {
      const buf = this.buf ? Buffer.concat([this.buf, data]) : data;
      const end = headEnd(buf);
      if (end === -1) {
        this.buf = buf;
        return;
      }
      this.buf = null;
      const res = parseResponseHead(buf.subarray(0, end));
      data = buf.subarray(end);
      if (res.status === 101) throw new HttpParseError(502, "the upstream switched protocols unasked");
      if (res.status < 200) {
        // Interim responses (100 Continue, 103 Early Hints) go on as they are, scrubbed.
        this.sendToClient(this.responseHeadBytes(res, { kind: "none" }, false));
        continue;
      }
      this.startBody(res);
    }
    if (data.length === 0 && !this.reader.done) return;
    const used = this.reader.feed(data, (d) => this.bodyData(d));
    if (this.reader.done) {
      if (used < data.length) this.res!.keepAlive = false; // bytes past the body: not reusable
      this.finishBody();
    }
  }

  private startBody(res: ResponseHead): void {
    this.res = res;
    const framing = responseFraming(res, this.req.method);
    this.reader = bodyReader(framing);
    const decode = this.to.inject && framing.kind !== "none" ? decoderFor(res) : undefined;
    if (this.to.inject) this.window = this.env.scrubber.window();
    // The child learns the body's length only when it passes unchanged.
    const passLength = framing.kind === "length" && !decode;
    let out: BodyFraming = framing;
    if (framing.kind !== "none" && !passLength) {
      if (this.req.minor === 1) {
        this.chunkedToClient = true;
        out = { kind: "chunked" };
      } else {
        this.closeClient = true;
        out = { kind: "close" };
      }
    }
    if (framing.kind === "close") {
      res.keepAlive = false;
      this.closeDelimited = true;
    }
    this.sendToClient(this.responseHeadBytes(res, out, decode !== undefined));
    this.headSent = true;
    if (decode) this.startDecoder(decode());
  }

  private startDecoder(decoder: Transform): void {
    this.decoder = decoder;
    decoder.on("data", (d: Buffer) => this.sendBody(d));
    decoder.on("error", (e: NodeJS.ErrnoException) => this.fail(e));
    decoder.on("end", () => this.complete());
  }

  private bodyData(d: Buffer): void {
    if (this.decoder) {
      if (!this.decoder.write(d) && this.upstream && !this.decoder.listenerCount("drain")) {
        const up = this.upstream;
        up.pause();
        this.decoder.once("drain", () => up.resume());
      }
    } else this.sendBody(d);
  }

  private sendBody(d: Buffer): void {
    const out = this.window ? this.window.push(d) : d;
    if (out.length === 0) return;
    if (this.chunkedToClient) for (const part of chunkFrame(out)) this.sendToClient(part);
    else this.sendToClient(out);
  }

  private sendToClient(data: Buffer): void {
    if (!this.client.write(data) && !this.clientDrain) {
      const src = this.decoder ?? this.upstream;
      if (!src) return;
      src.pause();
      this.clientDrain = () => {
        this.clientDrain = null;
        // Only a source this exchange still owns: a released upstream may be another's by now.
        if (!this.ended && (src === this.upstream || src === this.decoder)) src.resume();
      };
      this.client.once("drain", this.clientDrain);
    }
  }

  /** Take back the drain listeners this exchange left on sockets it does not own. */
  private dropDrainListeners(): void {
    if (this.clientDrain) this.client.removeListener("drain", this.clientDrain);
    this.clientDrain = null;
    if (this.upstreamDrain) this.upstreamDrainSocket?.removeListener("drain", this.upstreamDrain);
    this.upstreamDrain = null;
  }

  /** The upstream's body is complete (decoding may still be flushing). */
  private finishBody(): void {
    const up = this.detach();
    const reusable = this.res!.keepAlive && this.requestEnded;
    if (reusable) this.env.pool.release(this.to, up);
    else up.destroy();
    if (this.decoder) this.decoder.end();
    else this.complete();
  }

  private complete(): void {
    if (this.ended) return;
    const rest = this.window?.end();
    if (rest && rest.length > 0) {
      if (this.chunkedToClient) for (const part of chunkFrame(rest)) this.sendToClient(part);
      else this.sendToClient(rest);
    }
    if (this.chunkedToClient) this.sendToClient(LAST_CHUNK);
    this.ended = true;
    this.dropDrainListeners();
    this.onEnd({
      status: this.res!.status,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      reusable: !this.closeClient && this.requestEnded,
    });
  }

  private fail(e: NodeJS.ErrnoException): void {
    if (this.ended) return;
    this.ended = true;
    this.dropDrainListeners();
    if (this.upstream) this.detach().destroy();
    this.queued = [];
    this.decoder?.destroy();
    // Once the head is out, the child can only learn of the failure by the connection closing.
    this.onEnd({
      status: this.headSent ? this.res!.status : 0,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      reusable: false,
      error: e,
    });
  }

  private responseHeadBytes(res: ResponseHead, out: BodyFraming, decoded: boolean): Buffer {
    let head = `HTTP/1.1 ${res.status} ${res.reason}\r\n`;
    const listed = connectionListed(res.headers);
    for (const [name, value, lower] of res.headers) {
      // A HEAD or 304 response's Content-Length describes the body it did not send: keep it.
      if (lower === "content-length" && out.kind === "none" && res.status >= 200)
        head += `${name}: ${value}\r\n`;
      if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
      if (decoded && lower === "content-encoding") continue;
      head += `${name}: ${value}\r\n`;
    }
    if (out.kind === "length") head += `Content-Length: ${out.length}\r\n`;
    else if (out.kind === "chunked") head += "Transfer-Encoding: chunked\r\n";
    if (res.status >= 200 && (this.closeClient || out.kind === "close")) head += "Connection: close\r\n";
    const bytes = Buffer.from(`${head}\r\n`, "latin1");
    if (this.to.inject) this.env.scrubber.scrubInPlace(bytes);
    return bytes;
  }
}

/**
 * How to undo the response's content codings so the body can be scrubbed. Exactly one known
 * coding (or none) is accepted; a list, a repeated field or an unknown coding would pass the
 * value through unscrubbed, so it is refused (502) before anything reaches the child.
 */
function decoderFor(res: ResponseHead): (() => Transform) | undefined {
  const codings = headerValues(res.headers, "content-encoding")
    .map((c) => c.toLowerCase())
    .filter((c) => c !== "identity");
  if (codings.length === 0) return undefined; // nothing to undo
  const only = codings.length === 1 ? codings[0]! : "";
  const decoder = Object.hasOwn(DECODERS, only) ? DECODERS[only] : undefined;
  if (!decoder)
    throw new HttpParseError(
      502,
      "the upstream encoded its response in a way the proxy cannot decode to scrub it (it was asked for identity)",
    );
  return decoder;
}

/** What a grant's headers need per request, worked out once per grant: the names, lowercase, and each header's `Name: ` prefix. */
interface GrantHeads {
  names: ReadonlySet<string>;
  prefixes: Buffer[];
}
const grantHeads = new WeakMap<ProxyGrant, GrantHeads>();
const NO_HEADS: GrantHeads = { names: new Set(), prefixes: [] };

function headsOf(grant: ProxyGrant | null): GrantHeads {
  if (!grant) return NO_HEADS;
  let heads = grantHeads.get(grant);
  if (!heads) {
    heads = {
      names: new Set(grant.headers.map((h) => h.name.toLowerCase())),
      prefixes: grant.headers.map((h) => Buffer.from(`${h.name}: `, "latin1")),
    };
    grantHeads.set(grant, heads);
  }
  return heads;
}

function connectionListed(headers: readonly Header[]): Set<string> {
  return new Set(headerValues(headers, "connection").map((s) => s.toLowerCase()));
}

/**
 * The head sent upstream: origin form, hop-by-hop fields out, the grant's headers in. The
 * credential goes from the grant's buffers into this one buffer only (no string holds it); the
 * caller wipes it once written.
 */
function requestHead(req: RequestHead, to: ExchangeTarget): Buffer {
  let head = `${req.method} ${to.path} HTTP/1.1\r\n`;
  const listed = connectionListed(req.headers);
  const grant = to.inject;
  const heads = headsOf(grant);
  const replaced = heads.names;
  // Host was checked against the target: a `Connection: host` must not take it out.
  listed.delete("host");
  for (const [name, value, lower] of req.headers) {
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || replaced.has(lower)) continue;
    if (grant && lower === "accept-encoding") continue;
    head += `${name}: ${value}\r\n`;
  }
  if (req.framing.kind === "length") head += `Content-Length: ${req.framing.length}\r\n`;
  else if (req.framing.kind === "chunked") head += "Transfer-Encoding: chunked\r\n";
  if (!grant) return Buffer.from(`${head}\r\n`, "latin1");
  head += "Accept-Encoding: identity\r\n";
  const parts: Buffer[] = [Buffer.from(head, "latin1")];
  grant.headers.forEach((h, k) => {
    parts.push(heads.prefixes[k]!, h.value, CRLF);
  });
  parts.push(CRLF);
  return Buffer.concat(parts);
}
