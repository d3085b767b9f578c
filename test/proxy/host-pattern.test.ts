import assert from "node:assert/strict";
import { test } from "node:test";
import { matchesHost, parseHostPattern } from "../../src/proxy/host-pattern.js";
import { decide, type ProxyPolicy } from "../../src/proxy/policy.js";

test("patterns: accepted forms, normalised", () => {
  assert.equal(parseHostPattern("API.GitHub.com").text, "api.github.com");
  assert.equal(parseHostPattern("*.example.com").text, "*.example.com");
  assert.equal(parseHostPattern("localhost:8443").port, 8443);
  assert.equal(parseHostPattern("10.0.0.1:80").host, "10.0.0.1");
  assert.equal(parseHostPattern("[::1]:443").text, "[::1]:443");
});

test("patterns: refused forms say why", () => {
  const cases: [string, RegExp][] = [
    ["*", /every host/],
    ["*.com", /top-level domain/],
    ["com", /bare top-level domain/],
    ["https://api.github.com", /not a URL/],
    ["api.*.com", /whole first label/],
    ["host:0", /port/],
    ["host:70000", /port/],
    ["bad_name.example.com", /DNS name/],
    ["::1", /brackets/],
    ["", /empty/],
  ];
  for (const [input, why] of cases) assert.throws(() => parseHostPattern(input), why, input);
});

test("matching: exact, one-label wildcard, ports", () => {
  const p = parseHostPattern("*.example.com");
  assert.ok(matchesHost(p, "a.example.com", 443, [443]));
  assert.ok(!matchesHost(p, "a.b.example.com", 443, [443]), "one label only");
  assert.ok(!matchesHost(p, "example.com", 443, [443]));
  assert.ok(!matchesHost(p, "evilexample.com", 443, [443]));
  assert.ok(!matchesHost(p, "a.example.com", 8443, [443]), "default port only");
  const q = parseHostPattern("api.x.io:8443");
  assert.ok(matchesHost(q, "api.x.io", 8443, [443]));
  assert.ok(!matchesHost(q, "api.x.io", 443, [443]));
});

test("policy: inject, pass, deny", () => {
  const grant = { name: "g", hosts: [parseHostPattern("api.x.io")], headers: [], plainHttp: false };
  const strict: ProxyPolicy = { network: "strict", grants: [grant], allow: [parseHostPattern("ok.x.io")] };
  assert.equal(decide(strict, "api.x.io", 443, "https").kind, "inject");
  assert.equal(decide(strict, "ok.x.io", 443, "https").kind, "pass");
  assert.equal(decide(strict, "ok.x.io", 80, "http").kind, "pass");
  const denied = decide(strict, "other.x.io", 443, "https");
  assert.equal(denied.kind, "deny");
  assert.match(denied.kind === "deny" ? denied.reason : "", /--allow other\.x\.io/);
  const plain = decide(strict, "api.x.io", 80, "http");
  assert.match(plain.kind === "deny" ? plain.reason : "", /HTTPS only/);
  assert.equal(decide({ ...strict, network: "permissive" }, "other.x.io", 443, "https").kind, "pass");
  for (const local of ["127.0.0.1", "localhost", "169.254.169.254", "::1", "fd00:ec2::254"])
    assert.equal(decide({ ...strict, network: "permissive" }, local, 80, "http").kind, "deny", local);
  assert.equal(
    decide(
      { ...strict, network: "permissive", allow: [parseHostPattern("127.0.0.1:8080")] },
      "127.0.0.1",
      8080,
      "http",
    ).kind,
    "pass",
  );
  assert.equal(
    decide({ ...strict, grants: [{ ...grant, plainHttp: true }] }, "api.x.io", 80, "http").kind,
    "inject",
  );
});
