/**
 * HTTP/1.1 message framing for the proxy, written by hand and strict on purpose: the child is
 * untrusted, and a proxy that reads a request's length differently from the upstream is a
 * request-smuggling hole. So: CRLF line endings only, no obs-fold, no whitespace before a colon,
 * Content-Length and Transfer-Encoding never together, one Content-Length value, `chunked` the
 * only transfer coding. Anything else is refused with the status a client can act on.
 */

/** Largest request or response head (start line + headers). */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_HEADERS = 200;
/** A chunk-size line, extensions included. */
const MAX_CHUNK_LINE = 4096;
/** Total trailer bytes accepted (and dropped) after a chunked body. */
const MAX_TRAILER_BYTES = 16 * 1024;

/** A field as received, with its name lower-cased once (lookups compare that). */
export type Header = [name: string, value: string, lower: string];

export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  /** Response only: the body runs until the upstream closes the connection. */
  | { kind: "close" };

export interface RequestHead {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  headers: Header[];
  framing: BodyFraming;
  /** The client wants the connection kept open after this exchange. */
  keepAlive: boolean;
}

export interface ResponseHead {
  status: number;
  reason: string;
  minor: 0 | 1;
  headers: Header[];
  keepAlive: boolean;
}

/** A message the proxy refuses to relay; `status` is what the client is told. */
export class HttpParseError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** An HTTP token (RFC 9110 §5.6.2): a method, or a field name. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; never CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const REQUEST_TARGET = /^[\x21-\x7e]+$/;

const BLANK_LINE = Buffer.from("\r\n\r\n", "latin1");

/**
 * Where a head ends in `buf`: the offset just past its blank line, -1 if it has not all arrived
 * yet. Throws when it is already too long.
 */
export function headEnd(buf: Buffer, limit = MAX_HEAD_BYTES): number {
  const at = buf.indexOf(BLANK_LINE);
  if (at === -1) {
    if (buf.length > limit) throw new HttpParseError(431, `message head larger than ${limit} bytes`);
    return -1;
  }
  if (at + 4 > limit) throw new HttpParseError(431, `message head larger than ${limit} bytes`);
  return at + 4;
}

function splitHead(head: Buffer): { start: string; headers: Header[] } {
  // latin1 keeps every byte as one char, so obs-text survives the round trip unchanged.
  const lines = head.toString("latin1", 0, head.length - 4).split("\r\n");
  const start = lines[0] ?? "";
  if (lines.length - 1 > MAX_HEADERS) throw new HttpParseError(431, `more than ${MAX_HEADERS} header fields`);
  const headers: Header[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith(" ") || line.startsWith("\t"))
      throw new HttpParseError(400, "folded header lines (obs-fold) are not accepted");
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon) : "";
    if (!TOKEN.test(name)) throw new HttpParseError(400, "malformed header field name");
    const value = trimOws(line, colon + 1);
    if (!FIELD_VALUE.test(value)) throw new HttpParseError(400, `control characters in header ${name}`);
    headers.push([name, value, name.toLowerCase()]);
  }
  return { start, headers };
}

/** The line from `from` without leading and trailing spaces and tabs (not String.trim: it also eats NBSP). */
function trimOws(line: string, from: number): string {
  let a = from;
  let b = line.length;
  while (a < b && (line.charCodeAt(a) === 0x20 || line.charCodeAt(a) === 0x09)) a++;
  while (b > a && (line.charCodeAt(b - 1) === 0x20 || line.charCodeAt(b - 1) === 0x09)) b--;
  return line.slice(a, b);
}

function parseVersion(v: string | undefined): 0 | 1 {
  if (v === "HTTP/1.1") return 1;
  if (v === "HTTP/1.0") return 0;
  throw new HttpParseError(505, `unsupported protocol version ${JSON.stringify(v ?? "")}`);
}

/** All values of a field (case-insensitive), comma lists split. */
export function headerValues(headers: readonly Header[], lowerName: string): string[] {
  const out: string[] = [];
  for (const [, v, lower] of headers)
    if (lower === lowerName)
      for (const part of v.split(",")) {
        const t = part.trim();
        if (t) out.push(t);
      }
  return out;
}

export function headerValue(headers: readonly Header[], lowerName: string): string | undefined {
  for (const [, v, lower] of headers) if (lower === lowerName) return v;
  return undefined;
}

function keepAliveOf(headers: readonly Header[], minor: 0 | 1): boolean {
  const conn = headerValues(headers, "connection").map((s) => s.toLowerCase());
  if (conn.includes("close")) return false;
  return minor === 1 || conn.includes("keep-alive");
}

/** Content-Length / Transfer-Encoding → framing (RFC 9112 §6), refusing every ambiguous form. */
function lengthFraming(headers: readonly Header[], minor: 0 | 1, who: string): BodyFraming | undefined {
  const te = headerValues(headers, "transfer-encoding").map((s) => s.toLowerCase());
  const cl = headerValues(headers, "content-length");
  // A field present with no value (or only commas) is malformed, not absent.
  if (te.length === 0 && headerValue(headers, "transfer-encoding") !== undefined)
    throw new HttpParseError(400, `${who} has an empty Transfer-Encoding`);
  if (cl.length === 0 && headerValue(headers, "content-length") !== undefined)
    throw new HttpParseError(400, `${who} has an invalid or repeated Content-Length`);
  if (te.length > 0) {
    if (cl.length > 0) throw new HttpParseError(400, `${who} has both Content-Length and Transfer-Encoding`);
    if (minor === 0) throw new HttpParseError(400, `${who} uses Transfer-Encoding with HTTP/1.0`);
    if (te.length !== 1 || te[0] !== "chunked")
      throw new HttpParseError(
        501,
        // Not quoted back: from an upstream, the codings could be a reflected credential.
        `${who} uses a transfer coding other than chunked, which is not supported`,
      );
    return { kind: "chunked" };
  }
  if (cl.length > 0) {
    if (!cl.every((v) => /^\d{1,15}$/.test(v) && v === cl[0]))
      throw new HttpParseError(400, `${who} has an invalid or repeated Content-Length`);
    return { kind: "length", length: Number(cl[0]) };
  }
  return undefined;
}

export function parseRequestHead(head: Buffer): RequestHead {
  const { start, headers } = splitHead(head);
  const parts = start.split(" ");
  if (parts.length !== 3) throw new HttpParseError(400, "malformed request line");
  const [method, target, version] = parts as [string, string, string];
  if (!TOKEN.test(method)) throw new HttpParseError(400, "malformed request method");
  if (!REQUEST_TARGET.test(target)) throw new HttpParseError(400, "malformed request target");
  const minor = parseVersion(version);
  const framing = lengthFraming(headers, minor, "the request") ?? { kind: "none" };
  return { method, target, minor, headers, framing, keepAlive: keepAliveOf(headers, minor) };
}

export function parseResponseHead(head: Buffer): ResponseHead {
  const { start, headers } = splitHead(head);
  const m = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(start);
  if (!m) throw new HttpParseError(502, "the upstream sent a malformed status line");
  const minor = parseVersion(m[1]);
  return { status: Number(m[2]), reason: m[3] ?? "", minor, headers, keepAlive: keepAliveOf(headers, minor) };
}

/** How a response's body is delimited (RFC 9112 §6.3), given the request's method. */
export function responseFraming(res: ResponseHead, requestMethod: string): BodyFraming {
  if (requestMethod === "HEAD" || res.status < 200 || res.status === 204 || res.status === 304)
    return { kind: "none" };
  try {
    return lengthFraming(res.headers, res.minor, "the upstream's response") ?? { kind: "close" };
  } catch (e) {
    if (e instanceof HttpParseError) throw new HttpParseError(502, e.message);
    throw e;
  }
}

/** One chunk in chunked framing. */
export function chunkFrame(data: Buffer): Buffer[] {
  return [Buffer.from(`${data.length.toString(16)}\r\n`, "latin1"), data, CRLF];
}
export const CRLF = Buffer.from("\r\n", "latin1");
export const LAST_CHUNK = Buffer.from("0\r\n\r\n", "latin1");

/**
 * Incremental reader of a body: given bytes from the connection, it hands out body data and
 * says where the body ended (the rest belongs to the next message).
 */
export interface BodyReader {
  /** Consume from `buf`; returns how many bytes were used. Calls `onData` for body bytes. */
  feed(buf: Buffer, onData: (data: Buffer) => void): number;
  readonly done: boolean;
}

export function bodyReader(framing: BodyFraming): BodyReader {
  switch (framing.kind) {
    case "none":
      return { feed: () => 0, done: true };
    case "length":
      return new LengthReader(framing.length);
    case "chunked":
      return new ChunkedReader();
    case "close":
      return {
        feed: (b, on) => {
          on(b);
          return b.length;
        },
        done: false,
      };
  }
}

class LengthReader implements BodyReader {
  constructor(private left: number) {}
  get done(): boolean {
    return this.left === 0;
  }
  feed(buf: Buffer, onData: (data: Buffer) => void): number {
    const n = Math.min(this.left, buf.length);
    if (n > 0) {
      this.left -= n;
      onData(n === buf.length ? buf : buf.subarray(0, n));
    }
    return n;
  }
}

type ChunkState = "size" | "data" | "data-crlf" | "trailer" | "done";

/** Chunked transfer coding; extensions are ignored, trailers read and dropped. */
export class ChunkedReader implements BodyReader {
  private state: ChunkState = "size";
  private left = 0;
  private line = "";
  private trailerBytes = 0;

  get done(): boolean {
    return this.state === "done";
  }

  feed(buf: Buffer, onData: (data: Buffer) => void): number {
    let i = 0;
    while (i < buf.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.left, buf.length - i);
        onData(buf.subarray(i, i + n));
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = "data-crlf";
        continue;
      }
      const nl = buf.indexOf(0x0a, i);
      const end = nl === -1 ? buf.length : nl + 1;
      this.line += buf.toString("latin1", i, end);
      i = end;
      if (this.state === "trailer") {
        if (this.trailerBytes + this.line.length > MAX_TRAILER_BYTES)
          throw new HttpParseError(400, "chunked trailer section too large");
      } else if (this.line.length > MAX_CHUNK_LINE) throw new HttpParseError(400, "chunk-size line too long");
      if (nl === -1) break;
      const line = this.line;
      this.line = "";
      if (!line.endsWith("\r\n")) throw new HttpParseError(400, "chunked framing needs CRLF line endings");
      const text = line.slice(0, -2);
      if (this.state === "data-crlf") {
        if (text !== "") throw new HttpParseError(400, "chunk data longer than its declared size");
        this.state = "size";
      } else if (this.state === "size") {
        const m = /^([0-9A-Fa-f]{1,13})(?:[ \t]*;.*)?$/.exec(text);
        if (!m) throw new HttpParseError(400, "malformed chunk size");
        this.left = Number.parseInt(m[1]!, 16);
        this.state = this.left === 0 ? "trailer" : "data";
      } else if (text === "") this.state = "done";
      else this.trailerBytes += line.length;
    }
    return i;
  }
}
