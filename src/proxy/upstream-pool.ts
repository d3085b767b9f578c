/**
 * Keep-alive connections to upstreams, per host, port and scheme. TLS connections are verified
 * against the run's roots (system + --upstream-ca) and the host name; a connection goes back to
 * the pool only after a complete exchange, and leaves it when the upstream closes it, sends
 * anything while idle, or stays idle too long.
 */
import { isIP, type LookupFunction, connect as netConnect, type Socket } from "node:net";
import { type SecureContext, connect as tlsConnect } from "node:tls";

export interface UpstreamTarget {
  host: string;
  port: number;
  secure: boolean;
  /** Resolve the host through this (the permissive run's local-address guard). */
  lookup?: LookupFunction;
}

export interface UpstreamPoolOptions {
  secureContext: SecureContext;
}

/**
 * Idle connections kept per target: as many as a busy child keeps in flight (below that, every
 * burst would pay new handshakes).
 */
const MAX_IDLE = 256;
/** An idle connection is closed after this long (servers time out their own side too). */
const IDLE_MS = 30_000;
/** Giving up on a connection (TCP + TLS) that does not complete. */
const CONNECT_TIMEOUT_MS = 30_000;

const keyOf = (t: UpstreamTarget) => `${t.secure ? "https" : "http"}://${t.host}:${t.port}`;

export class UpstreamPool {
  private readonly idle = new Map<string, Socket[]>();
  private readonly live = new Set<Socket>();
  private destroyed = false;

  constructor(private readonly opts: UpstreamPoolOptions) {}

  /** An idle connection to `t`, taken out of the pool, if there is one (synchronous: no extra tick). */
  takeIdle(t: UpstreamTarget): Socket | undefined {
    const list = this.idle.get(keyOf(t));
    while (list && list.length > 0) {
      const socket = list.pop()!;
      if (socket.destroyed) continue;
      leaveIdle(socket);
      return socket;
    }
    return undefined;
  }

  /** Back to the pool after a complete exchange; the socket must be between messages. */
  release(t: UpstreamTarget, socket: Socket): void {
    const key = keyOf(t);
    const list = this.idle.get(key) ?? [];
    // After destroy() (the run is ending), a connection that completes late is not kept.
    if (this.destroyed || socket.destroyed || list.length >= MAX_IDLE) {
      socket.destroy();
      return;
    }
    const drop = () => {
      const i = list.indexOf(socket);
      if (i !== -1) list.splice(i, 1);
      socket.destroy();
    };
    // Bytes from an idle upstream answer nothing: the connection is no longer in a known state.
    const handlers = { data: drop, end: drop, timeout: drop, error: drop };
    idleHandlers.set(socket, handlers);
    socket.on("data", handlers.data);
    socket.on("end", handlers.end);
    socket.on("timeout", handlers.timeout);
    socket.on("error", handlers.error);
    socket.setTimeout(IDLE_MS);
    socket.resume();
    list.push(socket);
    this.idle.set(key, list);
  }

  destroy(): void {
    this.destroyed = true;
    for (const s of this.live) s.destroy();
    this.live.clear();
    this.idle.clear();
  }

  /** A new connection to `t`, once connected (and for TLS, verified). */
  open(t: UpstreamTarget): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = t.secure
        ? tlsConnect({
            host: t.host,
            port: t.port,
            // An IP target has no SNI; the certificate is then checked against the address.
            servername: isIP(t.host) ? undefined : t.host,
            secureContext: this.opts.secureContext,
            ALPNProtocols: ["http/1.1"],
            lookup: t.lookup,
          })
        : netConnect({ host: t.host, port: t.port, lookup: t.lookup });
      this.live.add(socket);
      socket.once("close", () => this.live.delete(socket));
      socket.setNoDelay(true);
      socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
        socket.destroy(Object.assign(new Error("connection timed out"), { code: "ETIMEDOUT" })),
      );
      const fail = (e: Error) => reject(e);
      socket.once("error", fail);
      socket.once(t.secure ? "secureConnect" : "connect", () => {
        socket.setTimeout(0);
        socket.removeListener("error", fail);
        resolve(socket);
      });
    });
  }
}

type IdleHandlers = Record<"data" | "end" | "timeout" | "error", () => void>;
const idleHandlers = new WeakMap<Socket, IdleHandlers>();

function leaveIdle(socket: Socket): void {
  const h = idleHandlers.get(socket);
  if (!h) return;
  idleHandlers.delete(socket);
  socket.removeListener("data", h.data);
  socket.removeListener("end", h.end);
  socket.removeListener("timeout", h.timeout);
  socket.removeListener("error", h.error);
  socket.setTimeout(0);
  socket.pause();
}
