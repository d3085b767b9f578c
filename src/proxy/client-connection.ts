/**
 * One connection from the child (plain, or TLS terminated by the proxy): reads requests one at a
 * time, hands each head to the proxy, feeds the request body to whatever answers it, and starts
 * on the next request only when the response is complete. Pipelined requests wait in a buffer
 * (the socket is paused when it grows), so responses can never be reordered.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import {
  type BodyReader,
  bodyReader,
  HttpParseError,
  headEnd,
  MAX_HEAD_BYTES,
  parseRequestHead,
  type RequestHead,
} from "./http1.js";

/** What consumes a request's body (an exchange with the upstream). */
export interface BodySink {
  body(chunk: Buffer): void;
  bodyEnd(): void;
  /** The client connection closed before the response was complete. */
  abort(): void;
}

/**
 * Called once per request head. Returns the sink for its body, or null when the request was
 * answered already (`reply`) or the connection was taken over (`takeOver`).
 */
export type RequestHandler = (head: RequestHead, raw: Buffer, conn: ClientConnection) => BodySink | null;

const EMPTY = Buffer.alloc(0);

export class ClientConnection {
  private buf: Buffer = EMPTY;
  private head: RequestHead | null = null;
  private reader: BodyReader | null = null;
  private sink: BodySink | null = null;
  private pumping = false;
  private finished = false;
  private clientEnded = false;

  constructor(
    readonly socket: Socket,
    private readonly handler: RequestHandler,
    /** A request refused before the proxy saw it (malformed or ambiguous): for the audit log. */
    private readonly onRefused: (e: HttpParseError, head: RequestHead | null) => void,
  ) {
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("close", this.onClose);
    // A broken connection from the child ends only that connection.
    socket.on("error", () => socket.destroy());
  }

  /** The response to the current request is complete; `reusable` = keep the connection. */
  done(reusable: boolean): void {
    if (this.finished) return;
    const bodyUnread = this.reader !== null;
    this.head = null;
    this.sink = null;
    this.reader = null;
    if (!reusable || bodyUnread) {
      this.close();
      return;
    }
    // A child that does not read its responses gets no more of them until it does: the next
    // pipelined request waits for the socket to drain (one listener, the connection's own).
    if (this.socket.writableNeedDrain) {
      this.socket.once("drain", () => this.next());
      return;
    }
    this.next();
  }

  private next(): void {
    if (this.finished) return;
    if (this.socket.isPaused()) this.socket.resume();
    this.pump();
  }

  /** No more requests on this connection: end our side after what is written. */
  private close(): void {
    this.finish();
    this.socket.end();
  }

  /** A response made by the proxy itself (refusals, errors); ends the current request. */
  reply(status: number, text: string, opts: { close?: boolean; headers?: string } = {}): void {
    const head = this.head;
    const close = opts.close || !head || !head.keepAlive || head.framing.kind !== "none";
    this.socket.write(simpleResponse(status, text, { close, headers: opts.headers }));
    this.done(!close);
  }

  /** The response broke off after its head went out: the child sees the connection drop. */
  abortResponse(): void {
    this.finish();
    this.socket.destroy();
  }

  /**
   * Stop reading requests: the socket is someone else's now (CONNECT, a local endpoint).
   * Returns the bytes already read past the current head; the socket is left paused.
   */
  takeOver(): Buffer {
    const rest = this.buf;
    this.finish();
    this.socket.removeListener("close", this.onClose);
    this.socket.pause();
    return rest;
  }

  private refuse(e: HttpParseError): void {
    this.onRefused(e, this.head);
    this.reply(e.status, `enclave: ${e.message}\n`, { close: true });
  }

  /** Stop reading: what the child sends from now on is dropped, not buffered. */
  private finish(): void {
    this.finished = true;
    this.buf = EMPTY;
    this.socket.removeListener("data", this.onData);
    this.socket.removeListener("end", this.onEnd);
  }

  private readonly onData = (chunk: Buffer) => {
    this.buf = this.buf.length > 0 ? Buffer.concat([this.buf, chunk]) : chunk;
    this.pump();
  };

  /** The child half-closed: it sends no more requests, but gets the responses still due. */
  private readonly onEnd = () => {
    this.clientEnded = true;
    if (this.reader) {
      // It stopped in the middle of a request body: that request cannot complete.
      this.sink?.abort();
      this.sink = null;
      this.reader = null;
      this.finish();
      this.socket.destroy();
      return;
    }
    this.pump();
  };

  private readonly onClose = () => {
    this.finish();
    this.sink?.abort();
    this.sink = null;
  };

  private pump(): void {
    // done()/reply() may be called from inside a handler: the running loop carries on instead.
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.finished) {
        if (this.reader) {
          if (this.buf.length === 0) return;
          const sink = this.sink;
          const used = this.reader.feed(this.buf, (d) => sink?.body(d));
          this.buf = this.buf.subarray(used);
          if (!this.reader.done) return;
          this.reader = null;
          sink?.bodyEnd();
          continue;
        }
        if (this.head) {
          // Still answering: later (pipelined) requests wait, within limits.
          if (this.buf.length > MAX_HEAD_BYTES) this.socket.pause();
          return;
        }
        if (this.buf.length === 0 || !this.nextRequest()) {
          // Nothing (complete) left to answer and nothing more coming: end our side.
          if (this.clientEnded && !this.finished && !this.head) this.close();
          return;
        }
      }
    } catch (e) {
      // A malformed body (chunked framing): the exchange cannot continue.
      this.sink?.abort();
      this.sink = null;
      this.reader = null;
      if (e instanceof HttpParseError) this.refuse(e);
      else this.abortResponse();
    } finally {
      this.pumping = false;
    }
  }

  /** Parse and dispatch the next request head; false when it has not all arrived. */
  private nextRequest(): boolean {
    let head: RequestHead;
    let raw: Buffer;
    try {
      const end = headEnd(this.buf);
      if (end === -1) return false;
      raw = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(end);
      head = parseRequestHead(raw);
    } catch (e) {
      if (!(e instanceof HttpParseError)) throw e;
      this.refuse(e);
      return false;
    }
    this.head = head;
    const sink = this.handler(head, raw, this);
    if (this.finished || this.head !== head) return true;
    if (!sink) return true;
    this.sink = sink;
    const reader = bodyReader(head.framing);
    if (reader.done) sink.bodyEnd();
    else this.reader = reader;
    return true;
  }
}

export function simpleResponse(
  status: number,
  body: string,
  opts: { close: boolean; headers?: string },
): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n${opts.headers ?? ""}` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `${opts.close ? "Connection: close\r\n" : ""}\r\n${body}`
  );
}
