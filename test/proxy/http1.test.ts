import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChunkedReader,
  HttpParseError,
  headEnd,
  parseRequestHead,
  parseResponseHead,
  responseFraming,
} from "../../src/proxy/http1.js";

const req = (s: string) => parseRequestHead(Buffer.from(s, "latin1"));
const refused = (s: string, status: number) =>
  assert.throws(
    () => req(s),
    (e: unknown) => e instanceof HttpParseError && e.status === status,
    JSON.stringify(s),
  );

test("a plain request head: method, target, headers in order, framing, keep-alive", () => {
  const h = req("POST /x?y=1 HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\nX-A:  v  \r\n\r\n");
  assert.equal(h.method, "POST");
  assert.equal(h.target, "/x?y=1");
  assert.equal(h.minor, 1);
  assert.deepEqual(h.headers, [
    ["Host", "a.example", "host"],
    ["Content-Length", "5", "content-length"],
    ["X-A", "v", "x-a"],
  ]);
  // Only spaces and tabs around a value are cut (NBSP is a byte of the value).
  assert.deepEqual(req("GET / HTTP/1.1\r\nX: \t\xa0v\xa0 \r\n\r\n").headers[0], ["X", "\xa0v\xa0", "x"]);
  assert.deepEqual(h.framing, { kind: "length", length: 5 });
  assert.equal(h.keepAlive, true);
  assert.equal(req("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keepAlive, false);
  assert.equal(req("GET / HTTP/1.0\r\n\r\n").keepAlive, false);
  assert.equal(req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive, true);
  assert.deepEqual(req("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").framing, { kind: "chunked" });
  assert.deepEqual(req("GET / HTTP/1.1\r\n\r\n").framing, { kind: "none" });
  // The same Content-Length repeated is one length.
  assert.deepEqual(req("PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n").framing, {
    kind: "length",
    length: 3,
  });
});

test("every ambiguous or malformed framing is refused (request smuggling)", () => {
  refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  refused("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
  refused("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", 400);
  refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
  refused("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400);
  refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
  refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
  refused("POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", 501);
  refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nX: a\u0000b\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\n: novalue\r\n\r\n", 400);
  refused("GET  / HTTP/1.1\r\n\r\n", 400);
  refused("GET / HTTP/2.0\r\n\r\n", 505);
  refused("GET /a b HTTP/1.1\r\n\r\n", 400);
  refused(`GET / HTTP/1.1\r\n${"X: y\r\n".repeat(201)}\r\n`, 431);
});

test("headEnd finds the blank line and caps the head's size", () => {
  assert.equal(headEnd(Buffer.from("GET / HTTP/1.1\r\nHost: a\r\n")), -1);
  assert.equal(headEnd(Buffer.from("GET / HTTP/1.1\r\n\r\nBODY")), 18);
  assert.throws(
    () => headEnd(Buffer.alloc(70 * 1024, 0x41)),
    (e: unknown) => (e as HttpParseError).status === 431,
  );
});

test("response framing: HEAD, 1xx, 204 and 304 have no body; no length means read to close", () => {
  const res = (s: string) => parseResponseHead(Buffer.from(s, "latin1"));
  const ok = res("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  assert.deepEqual(responseFraming(ok, "GET"), { kind: "length", length: 10 });
  assert.deepEqual(responseFraming(ok, "HEAD"), { kind: "none" });
  assert.deepEqual(responseFraming(res("HTTP/1.1 204 No Content\r\n\r\n"), "GET"), { kind: "none" });
  assert.deepEqual(responseFraming(res("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n"), "GET"), {
    kind: "none",
  });
  assert.deepEqual(responseFraming(res("HTTP/1.1 100 Continue\r\n\r\n"), "GET"), { kind: "none" });
  assert.deepEqual(responseFraming(res("HTTP/1.1 200 OK\r\n\r\n"), "GET"), { kind: "close" });
  assert.equal(res("HTTP/1.1 200 OK\r\n\r\n").reason, "OK");
  assert.equal(res("HTTP/1.1 200\r\n\r\n").reason, "");
  assert.throws(
    () =>
      responseFraming(
        res("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        "GET",
      ),
    (e: unknown) => (e as HttpParseError).status === 502,
  );
  assert.throws(
    () => res("HTTP/1.1 2000 OK\r\n\r\n"),
    (e: unknown) => (e as HttpParseError).status === 502,
  );
});

test("chunked reader: data at any split, extensions ignored, trailers dropped, the rest left over", () => {
  const wire = Buffer.from("5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT", "latin1");
  const framingEnd = wire.indexOf("NEXT");
  for (let cut = 1; cut <= framingEnd; cut++) {
    const r = new ChunkedReader();
    const got: Buffer[] = [];
    let used = r.feed(wire.subarray(0, cut), (d) => got.push(Buffer.from(d)));
    assert.equal(used, cut, `all of the first part is body framing (cut ${cut})`);
    used = r.feed(wire.subarray(cut), (d) => got.push(Buffer.from(d)));
    assert.equal(Buffer.concat(got).toString(), "hello world", `cut ${cut}`);
    assert.equal(r.done, true);
    assert.equal(wire.subarray(cut + used).toString(), "NEXT");
  }
});

test("chunked reader refuses malformed framing", () => {
  for (const bad of ["zz\r\n", "5\r\nhelloX\r\n", "5\nhello\n", `${"f".repeat(14)}\r\n`, "-1\r\n"]) {
    const r = new ChunkedReader();
    assert.throws(
      () => r.feed(Buffer.from(bad, "latin1"), () => undefined),
      (e: unknown) => e instanceof HttpParseError && e.status === 400,
      JSON.stringify(bad),
    );
  }
});
