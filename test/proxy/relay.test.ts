/**
 * The proxy's HTTP/1.1 relay against upstreams that answer in every framing HTTP allows, driven
 * with raw bytes on both sides (plain HTTP with a grant that allows it, so the wire is readable;
 * the TLS path runs the same relay and is covered end to end in test/e2e/run.test.ts).
 */
import assert from "node:assert/strict";
import { createServer as createHttpServer, type Server } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import type { AuditEvent } from "../../src/audit/events.js";
import { makePlaceholder } from "../../src/providers/placeholder.js";
import { RunCA } from "../../src/proxy/ca.js";
import { parseHostPattern } from "../../src/proxy/host-pattern.js";
import { EnclaveProxy } from "../../src/proxy/proxy-server.js";
import { Scrubber } from "../../src/proxy/scrub.js";

const SECRET = "sk_live_Relay0123456789abcdefghijKLMN";
const PLACE = makePlaceholder(Buffer.from(SECRET)).toString();
const TOKEN = "run-token-for-relay-tests";
const AUTH = `Proxy-Authorization: Basic ${Buffer.from(`enclave:${TOKEN}`).toString("base64")}\r\n`;

/** A raw upstream: each connection's bytes are recorded; `answer` decides what to send back. */
function rawUpstream(answer: (sock: Socket, data: string, connIndex: number) => void) {
  const conns: string[] = [];
  const server = createServer((sock) => {
    const i = conns.push("") - 1;
    sock.on("data", (d) => {
      conns[i] += d.toString("latin1");
      answer(sock, conns[i]!, i);
    });
    sock.on("error", () => undefined);
  });
  return { server, conns };
}

async function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

/** Send raw bytes to the proxy; resolve with what came back once `until` holds (or the socket ends). */
function talk(
  proxyPort: number,
  chunks: (string | ((got: string) => string | undefined))[],
  until: (got: string) => boolean,
): Promise<{ got: string; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(proxyPort, "127.0.0.1");
    let got = "";
    let ended = false;
    let next = 0;
    const sendReady = () => {
      while (next < chunks.length) {
        const c = chunks[next]!;
        const text = typeof c === "string" ? c : c(got);
        if (text === undefined) return;
        sock.write(text, "latin1");
        next++;
      }
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out; got so far: ${JSON.stringify(got)}`));
    }, 5000);
    sock.on("connect", sendReady);
    sock.on("data", (d) => {
      got += d.toString("latin1");
      sendReady();
      if (until(got)) {
        clearTimeout(timer);
        sock.destroy();
        resolve({ got, ended });
      }
    });
    sock.on("end", () => {
      ended = true;
      clearTimeout(timer);
      resolve({ got, ended });
    });
    sock.on("error", reject);
  });
}

/** Decode a chunked body (the relay re-frames it); throws on bad framing. */
function unchunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, eol), 16);
    assert.ok(Number.isFinite(size), `chunk size in ${JSON.stringify(rest.slice(0, 20))}`);
    if (size === 0) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    assert.equal(rest.slice(eol + 2 + size, eol + 4 + size), "\r\n");
    rest = rest.slice(eol + 4 + size);
  }
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

describe("relay", () => {
  let ca: RunCA;
  const proxies: EnclaveProxy[] = [];
  const servers: { close: () => void }[] = [];
  const audit: AuditEvent[] = [];

  before(async () => {
    ca = await RunCA.create("relay-test");
  });
  after(async () => {
    for (const p of proxies) await p.close();
    for (const s of servers) s.close();
  });

  /** A proxy whose grant injects the secret into plain HTTP to 127.0.0.1:port. */
  async function proxyFor(
    upstreamPort: number,
    network: "strict" | "permissive" = "strict",
  ): Promise<number> {
    const proxy = new EnclaveProxy({
      runId: "relay",
      policy: {
        network,
        grants: [
          {
            name: "g",
            hosts: [parseHostPattern(`127.0.0.1:${upstreamPort}`)],
            headers: [{ name: "Authorization", value: Buffer.from(`Bearer ${SECRET}`) }],
            plainHttp: true,
          },
        ],
        allow: [],
      },
      token: Buffer.from(TOKEN),
      ca,
      scrubber: new Scrubber([
        { value: Buffer.from(`Bearer ${SECRET}`), placeholder: Buffer.from(`Bearer ${PLACE}`) },
        { value: Buffer.from(SECRET), placeholder: Buffer.from(PLACE) },
      ]),
      audit: (e) => audit.push(e),
      localPort: 0,
    });
    proxies.push(proxy);
    return (await proxy.listen({ port: 0 }))!;
  }

  async function withRaw(answer: Parameters<typeof rawUpstream>[0]) {
    const up = rawUpstream(answer);
    servers.push(up.server);
    const port = await listen(up.server);
    return { up, port, proxyPort: await proxyFor(port) };
  }

  const get = (port: number, path = "/", extra = "") =>
    `GET http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${AUTH}Authorization: Bearer ${PLACE}\r\n${extra}\r\n`;

  test("a secret split across the upstream's chunk framing is scrubbed; the upstream got the real header", async () => {
    const half = SECRET.length >> 1;
    const { up, port, proxyPort } = await withRaw((sock, data) => {
      if (!data.endsWith("\r\n\r\n")) return;
      const a = `token=${SECRET.slice(0, half)}`;
      const b = `${SECRET.slice(half)} end`;
      sock.write(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Echo: ${SECRET}\r\n\r\n`);
      sock.write(`${a.length.toString(16)}\r\n${a}\r\n`);
      setTimeout(() => sock.write(`${b.length.toString(16)};x=y\r\n${b}\r\n0\r\nX-T: ${SECRET}\r\n\r\n`), 20);
    });
    const { got } = await talk(proxyPort, [get(port)], (g) => g.endsWith("0\r\n\r\n"));
    assert.equal(got.includes(SECRET), false, "no secret reaches the child");
    const [head, body] = got.split("\r\n\r\n", 2) as [string, string];
    assert.match(head, new RegExp(`X-Echo: ${PLACE}`));
    assert.equal(unchunk(got.slice(head.length + 4)), `token=${PLACE} end`);
    assert.ok(body.length > 0);
    assert.match(up.conns[0]!, new RegExp(`\r\nAuthorization: Bearer ${SECRET}\r\n`));
    assert.equal(count(up.conns[0]!, "Authorization:"), 1, "the child's placeholder header was replaced");
    assert.doesNotMatch(up.conns[0]!, /Proxy-Authorization/i);
    assert.match(up.conns[0]!, /\r\nAccept-Encoding: identity\r\n/);
  });

  test("pipelined requests are answered in order; HEAD keeps its Content-Length and sends no body", async () => {
    const { up, port, proxyPort } = await withRaw((sock, data) => {
      // Answer each complete request head as it arrives (they may come together).
      const heads = data.split("\r\n\r\n").length - 1;
      const answered = (sock as Socket & { answered?: number }).answered ?? 0;
      for (let i = answered; i < heads; i++) {
        const method = data.split("\r\n\r\n")[i]!.split(" ")[0];
        sock.write(
          method === "HEAD"
            ? "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
            : `HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nbody-${i}`,
        );
      }
      (sock as Socket & { answered?: number }).answered = heads;
    });
    const head = get(port, "/h").replace(/^GET/, "HEAD");
    const { got } = await talk(proxyPort, [get(port, "/1") + head + get(port, "/3")], (g) =>
      g.includes("body-2"),
    );
    const parts = got.split("HTTP/1.1 200 OK").slice(1);
    assert.equal(parts.length, 3);
    assert.match(parts[0]!, /\r\n\r\nbody-0$/);
    assert.match(parts[1]!, /Content-Length: 1000\r\n/);
    assert.match(parts[1]!, /\r\n\r\n$/, "no body after a HEAD response");
    assert.match(parts[2]!, /body-2$/);
    assert.equal(up.conns.length, 1, "one upstream connection, kept alive");
  });

  test("a close-delimited response reaches an HTTP/1.1 client chunked (kept alive) and a 1.0 client as is", async () => {
    const { port, proxyPort } = await withRaw((sock, data) => {
      if (!data.endsWith("\r\n\r\n")) return;
      sock.end(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close ${SECRET}`);
    });
    const r11 = await talk(proxyPort, [get(port)], (g) => g.endsWith("0\r\n\r\n"));
    assert.match(r11.got, /Transfer-Encoding: chunked\r\n/);
    assert.doesNotMatch(r11.got, /Connection: close/);
    assert.equal(unchunk(r11.got.split("\r\n\r\n").slice(1).join("\r\n\r\n")), `until close ${PLACE}`);
    const r10 = await talk(proxyPort, [get(port).replace("HTTP/1.1", "HTTP/1.0")], () => false);
    assert.equal(r10.ended, true);
    assert.match(r10.got, /Connection: close\r\n/);
    assert.ok(r10.got.endsWith(`\r\n\r\nuntil close ${PLACE}`));
  });

  test("a gzip body is decoded so it can be scrubbed; HTTP/1.1 gets it chunked without Content-Encoding", async () => {
    const zipped = gzipSync(Buffer.from(`{"echo":"${SECRET}"}`));
    const { port, proxyPort } = await withRaw((sock, data) => {
      if (!data.endsWith("\r\n\r\n")) return;
      sock.write(`HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n\r\n`);
      sock.write(zipped);
    });
    const { got } = await talk(proxyPort, [get(port)], (g) => g.endsWith("0\r\n\r\n"));
    assert.doesNotMatch(got, /Content-Encoding|Content-Length/i);
    assert.equal(unchunk(got.split("\r\n\r\n").slice(1).join("\r\n\r\n")), `{"echo":"${PLACE}"}`);
  });

  test("request bodies: chunked is re-framed, Expect: 100-continue gets the upstream's 100 first", async () => {
    let received = "";
    const server = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        received = `${req.headers["transfer-encoding"] ?? req.headers["content-length"]}|${body}`;
        res.end("ok");
      });
    });
    servers.push(server);
    const port = await listen(server);
    const proxyPort = await proxyFor(port);
    const chunked = `${get(port).replace(/^GET/, "POST").slice(0, -2)}Transfer-Encoding: chunked\r\n\r\n`;
    const r1 = await talk(proxyPort, [chunked, "4;ext\r\nabcd\r\n", "3\r\nefg\r\n0\r\n\r\n"], (g) =>
      g.endsWith("ok"),
    );
    assert.match(r1.got, /^HTTP\/1\.1 200 OK/);
    assert.equal(received, "chunked|abcdefg");
    const expect = `${get(port).replace(/^GET/, "PUT").slice(0, -2)}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n`;
    const r2 = await talk(
      proxyPort,
      [expect, (g) => (g.startsWith("HTTP/1.1 100 Continue\r\n\r\n") ? "hello" : undefined)],
      (g) => g.endsWith("ok"),
    );
    assert.match(r2.got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/);
    assert.equal(received, "5|hello");
  });

  test("a smuggling attempt (Content-Length with Transfer-Encoding) gets 400 and reaches no upstream", async () => {
    const { up, port, proxyPort } = await withRaw((sock) =>
      sock.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    );
    const smuggle = `${get(port).replace(/^GET/, "POST").slice(0, -2)}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n`;
    const { got, ended } = await talk(proxyPort, [smuggle], () => false);
    assert.match(got, /^HTTP\/1\.1 400 /);
    assert.match(got, /both Content-Length and Transfer-Encoding/);
    assert.equal(ended, true);
    assert.equal(up.conns.length, 0);
    assert.ok(
      audit.some((e) => e.type === "denied" && /both Content-Length and Transfer-Encoding/.test(e.reason)),
      "the refusal is in the audit log",
    );
  });

  test("a kept-alive upstream connection the upstream dropped is retried once on a new one", async () => {
    const { up, port, proxyPort } = await withRaw((sock, data, i) => {
      if (!data.endsWith("\r\n\r\n")) return;
      const n = data.split("\r\n\r\n").length - 1;
      // Connection 0 answers its first request, then drops the connection on the second.
      if (i === 0 && n === 2) sock.destroy();
      else sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nc${i}r${n}`);
    });
    const second = (g: string) => (g.endsWith("c0r1") ? get(port, "/2") : undefined);
    const { got } = await talk(proxyPort, [get(port, "/1"), second], (g) => g.endsWith("c1r1"));
    assert.equal(count(got, "HTTP/1.1 200 OK"), 2);
    assert.equal(up.conns.length, 2);
  });

  test("a POST is not sent twice: the dropped connection becomes a 502, not a retry", async () => {
    const { up, port, proxyPort } = await withRaw((sock, data, i) => {
      if (!data.endsWith("\r\n\r\n")) return;
      const n = data.split("\r\n\r\n").length - 1;
      if (i === 0 && n === 2) sock.destroy();
      else sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nc${i}r${n}`);
    });
    const post = (g: string) => (g.endsWith("c0r1") ? get(port, "/2").replace(/^GET/, "POST") : undefined);
    const { got } = await talk(proxyPort, [get(port, "/1"), post], () => false);
    assert.match(got, /HTTP\/1\.1 502 /);
    assert.equal(up.conns.length, 1, "no second connection: the upstream may have acted on the POST");
  });

  test("an upstream that breaks the protocol gets the child a 502, and the audit records it", async () => {
    const { port, proxyPort } = await withRaw((sock) => sock.end("SMTP ready\r\n\r\n"));
    const { got } = await talk(proxyPort, [get(port, "/broken?q=secret-query")], () => false);
    assert.match(got, /^HTTP\/1\.1 502 /);
    assert.match(got, new RegExp(`127\\.0\\.0\\.1:${port} broke the protocol: .*malformed status line`));
    const rec = audit.find((e) => e.type === "request" && e.path === "/broken");
    assert.ok(rec, "the request is audited without its query");
    assert.equal((rec as { status: number }).status, 502);
  });

  test("a permissive run does not reach loopback through numeric or IPv4-mapped spellings of it", async () => {
    const { up, port } = await withRaw((sock) => sock.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
    // The grant covers 127.0.0.1:port only; everything else is "the internet" in permissive mode.
    const proxyPort = await proxyFor(port + 1, "permissive");
    for (const spelled of ["2130706433", "0x7f.1", "[::ffff:7f00:1]", "[::ffff:127.0.0.1]"]) {
      const req = `GET http://${spelled}:${port}/ HTTP/1.1\r\nHost: ${spelled}:${port}\r\n${AUTH}\r\n`;
      const { got } = await talk(proxyPort, [req], (g) => g.includes("\r\n\r\n") && g.endsWith("\n"));
      assert.match(got, /^HTTP\/1\.1 403 /, spelled);
      assert.match(got, /loopback, link-local or (cloud-)?metadata address/, spelled);
      const connect = `CONNECT ${spelled}:${port} HTTP/1.1\r\nHost: ${spelled}:${port}\r\n${AUTH}\r\n`;
      const c = await talk(proxyPort, [connect], () => false);
      assert.match(c.got, /^HTTP\/1\.1 403 /, `CONNECT ${spelled}`);
    }
    assert.equal(up.conns.length, 0, "nothing reached the loopback upstream");
  });

  test("large bodies both ways stream through with backpressure: complete, and the secret scrubbed", async () => {
    const size = 24 * 1024 * 1024;
    // A response body with the secret every ~1 MiB, at offsets that straddle read boundaries.
    const body = Buffer.alloc(size, 0x61);
    for (let at = 1000; at + SECRET.length < size; at += 1024 * 1024 + 7) body.write(SECRET, at, "latin1");
    let uploaded = 0;
    const server = createHttpServer((req, res) => {
      req.on("data", (d: Buffer) => (uploaded += d.length));
      req.on("end", () => {
        res.writeHead(200, { "Content-Length": String(size) });
        res.end(body);
      });
    });
    servers.push(server);
    const port = await listen(server);
    const proxyPort = await proxyFor(port);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const sock = connect(proxyPort, "127.0.0.1");
      const parts: Buffer[] = [];
      sock.on("connect", () => {
        sock.write(`${get(port).replace(/^GET/, "POST").slice(0, -2)}Content-Length: ${size}\r\n\r\n`);
        // The upload in 64 KiB pieces, respecting the socket's own backpressure.
        let sent = 0;
        const pump = () => {
          while (sent < size) {
            const n = Math.min(65536, size - sent);
            sent += n;
            if (!sock.write(Buffer.alloc(n, 0x62))) return void sock.once("drain", pump);
          }
        };
        pump();
      });
      let total = 0;
      sock.on("data", (d: Buffer) => {
        parts.push(d);
        total += d.length;
        // A slow reader: the proxy must hold the upstream back rather than buffer it all.
        sock.pause();
        setTimeout(() => sock.resume(), total % 7 === 0 ? 2 : 0);
        // The head is a few hundred bytes: the body is complete once `size` bytes follow it.
        if (total < size) return;
        const all = Buffer.concat(parts);
        const headEnd = all.indexOf("\r\n\r\n");
        if (headEnd !== -1 && all.length - headEnd - 4 >= size) {
          sock.destroy();
          resolve(all.subarray(headEnd + 4));
        }
      });
      sock.on("error", reject);
    });
    assert.equal(uploaded, size, "the whole upload reached the upstream");
    assert.equal(got.length, size);
    assert.equal(got.indexOf(SECRET), -1, "no secret in the body");
    assert.deepEqual(got, Buffer.from(body.toString("latin1").replaceAll(SECRET, PLACE), "latin1"));
  });

  test("an upstream that encodes in a way the proxy cannot scrub gets a 502, never the body", async () => {
    const zipped = gzipSync(Buffer.from(`echo ${SECRET}`));
    for (const coding of ["gzip, gzip", "zstd", "constructor", "gzip;q=1"]) {
      const { port, proxyPort } = await withRaw((sock, data) => {
        if (!data.endsWith("\r\n\r\n")) return;
        sock.end(
          Buffer.concat([
            Buffer.from(
              `HTTP/1.1 200 OK\r\nContent-Encoding: ${coding}\r\nContent-Length: ${zipped.length}\r\n\r\n`,
            ),
            zipped,
          ]),
        );
      });
      const { got } = await talk(proxyPort, [get(port)], () => false);
      assert.match(got, /^HTTP\/1\.1 502 /, coding);
      assert.match(got, /cannot decode to scrub/, coding);
    }
    // identity alongside one known coding is that coding: decoded and scrubbed.
    const { port, proxyPort } = await withRaw((sock, data) => {
      if (!data.endsWith("\r\n\r\n")) return;
      sock.write(
        `HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n\r\n`,
      );
      sock.write(zipped);
    });
    const { got } = await talk(proxyPort, [get(port)], (g) => g.endsWith("0\r\n\r\n"));
    assert.equal(unchunk(got.split("\r\n\r\n").slice(1).join("\r\n\r\n")), `echo ${PLACE}`);
  });

  test("a credential the upstream reflects into a broken header reaches neither the child's 502 nor the log", async () => {
    const { port, proxyPort } = await withRaw((sock, data) => {
      if (!data.endsWith("\r\n\r\n")) return;
      const auth = /\r\nAuthorization: ([^\r]*)/.exec(data)![1];
      sock.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${auth}\r\n\r\n`);
    });
    const { got } = await talk(proxyPort, [get(port, "/reflect")], () => false);
    assert.match(got, /^HTTP\/1\.1 502 /);
    assert.equal(got.toLowerCase().includes(SECRET.toLowerCase()), false, got);
    const rec = audit.find((e) => e.type === "request" && e.path === "/reflect");
    assert.ok(rec && !JSON.stringify(rec).toLowerCase().includes(SECRET.toLowerCase()));
  });

  test("Connection: host cannot take the checked Host header away from the upstream", async () => {
    const { up, port, proxyPort } = await withRaw((sock, data) => {
      if (data.endsWith("\r\n\r\n")) sock.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    });
    const { got } = await talk(proxyPort, [get(port, "/", "Connection: host\r\n")], (g) =>
      g.includes("\r\n\r\n"),
    );
    assert.match(got, /^HTTP\/1\.1 200 /);
    assert.match(up.conns[0]!, new RegExp(`\r\nHost: 127\\.0\\.0\\.1:${port}\r\n`));
  });

  test("a retried request with an empty chunked body still ends its body", async () => {
    const { up, port, proxyPort } = await withRaw((sock, data, i) => {
      if (i === 0) {
        if (data.startsWith("GET") && data.endsWith("\r\n\r\n") && !data.includes("PUT "))
          sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        else if (data.includes("PUT ")) sock.destroy();
        return;
      }
      if (data.endsWith("0\r\n\r\n")) sock.write("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
    });
    const put = `${get(port, "/x").replace(/^GET/, "PUT").slice(0, -2)}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`;
    const { got } = await talk(
      proxyPort,
      [get(port, "/warm"), (g) => (g.endsWith("ok") ? put : undefined)],
      (g) => g.includes("201 Created"),
    );
    assert.match(got, /HTTP\/1\.1 201 Created/);
    assert.equal(up.conns.length, 2);
  });

  test("a child that half-closes after its request still gets the response", async () => {
    const { port, proxyPort } = await withRaw((sock, data) => {
      if (data.endsWith("\r\n\r\n"))
        setTimeout(() => sock.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 50);
    });
    const got = await new Promise<string>((resolve, reject) => {
      const sock = connect({ port: proxyPort, host: "127.0.0.1", allowHalfOpen: true });
      let text = "";
      sock.on("connect", () => sock.end(get(port), "latin1"));
      sock.on("data", (d) => (text += d.toString("latin1")));
      sock.on("end", () => resolve(text));
      sock.on("error", reject);
    });
    assert.match(got, /^HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nhello$/);
  });

  test("an exchange still open when the proxy closes is recorded, with why", async () => {
    const { port, proxyPort } = await withRaw(() => undefined); // never answers
    const proxy = proxies[proxies.length - 1]!;
    const sock = connect(proxyPort, "127.0.0.1");
    sock.on("error", () => undefined);
    sock.write(get(port, "/slow"));
    await new Promise((r) => setTimeout(r, 200));
    await proxy.close();
    const rec = audit.find((e) => e.type === "request" && e.path === "/slow") as
      | { error?: string }
      | undefined;
    assert.equal(rec?.error, "the run ended before the response was complete");
  });
});
