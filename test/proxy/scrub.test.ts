import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { makePlaceholder } from "../../src/providers/placeholder.js";
import { Scrubber } from "../../src/proxy/scrub.js";

const VALUE = Buffer.from("ghp_Secret0123456789abcdefghijABCDEFGHIJ");
const PLACE = makePlaceholder(VALUE);

async function scrubChunks(s: Scrubber, chunks: Buffer[]): Promise<Buffer> {
  const w = s.window();
  // Copies: push() may overwrite what it is given, and tests reuse their inputs.
  return Buffer.concat([...chunks.map((c) => w.push(Buffer.from(c))), w.end()]);
}

test("placeholders keep length, prefix and character classes, and differ from the value", () => {
  assert.equal(PLACE.length, VALUE.length);
  assert.ok(PLACE.toString().startsWith("ghp_"));
  assert.notDeepEqual(PLACE, VALUE);
  for (let i = 4; i < VALUE.length; i++) {
    const cls = (c: number) =>
      c >= 48 && c <= 57 ? "d" : c >= 97 && c <= 122 ? "l" : c >= 65 && c <= 90 ? "u" : "o";
    assert.equal(cls(PLACE[i]!), cls(VALUE[i]!));
  }
  const binary = Buffer.from([0, 1, 2, 255, 0x80]);
  const p = makePlaceholder(binary);
  assert.equal(p.length, binary.length);
  assert.ok(
    p.every((c) => c >= 0x61 && c <= 0x7a),
    "non-printable bytes become letters",
  );
});

test("a value split at every possible boundary is replaced", async () => {
  const s = new Scrubber([{ value: VALUE, placeholder: PLACE }]);
  const body = Buffer.concat([
    Buffer.from("head "),
    VALUE,
    Buffer.from(" middle "),
    VALUE,
    Buffer.from(" tail"),
  ]);
  for (let cut = 1; cut < body.length; cut++) {
    const out = await scrubChunks(s, [body.subarray(0, cut), body.subarray(cut)]);
    assert.equal(out.length, body.length);
    assert.equal(out.indexOf(VALUE), -1, `cut at ${cut}`);
    assert.equal(out.toString(), body.toString().replaceAll(VALUE.toString(), PLACE.toString()));
  }
});

test("one byte per chunk, random noise around several values", async () => {
  const other = Buffer.from("short-secret-x");
  const s = new Scrubber([
    { value: VALUE, placeholder: PLACE },
    { value: other, placeholder: makePlaceholder(other) },
  ]);
  const body = Buffer.concat([randomBytes(100), other, VALUE, randomBytes(3), other, randomBytes(50)]);
  const out = await scrubChunks(
    s,
    [...body].map((b) => Buffer.from([b])),
  );
  assert.equal(out.length, body.length);
  assert.equal(out.indexOf(VALUE), -1);
  assert.equal(out.indexOf(other), -1);
});

test("in-place scrubbing counts what it replaced; no replacements is a pass-through", async () => {
  const s = new Scrubber([{ value: VALUE, placeholder: PLACE }]);
  const head = Buffer.from(`X-A: ${VALUE}\r\nX-B: ${VALUE}\r\n`, "latin1");
  assert.equal(s.scrubInPlace(head), 2);
  assert.equal(head.toString("latin1"), `X-A: ${PLACE}\r\nX-B: ${PLACE}\r\n`);
  const none = new Scrubber([]);
  const body = randomBytes(1000);
  assert.deepEqual(await scrubChunks(none, [body]), body);
  assert.throws(() => new Scrubber([{ value: VALUE, placeholder: Buffer.from("x") }]), /as long as/);
});
