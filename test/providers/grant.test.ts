import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBasicOption, parseHeaderOption, validateGrantShape } from "../../src/providers/grant.js";
import { parseTemplate, renderTemplate } from "../../src/providers/template.js";

test("header templates parse and render", () => {
  assert.deepEqual(parseTemplate("Bearer {{secret github/token}}"), [
    { text: "Bearer " },
    { secret: "github/token" },
  ]);
  const out = renderTemplate("{{ secret a }}:{{secret b}}", (n) => Buffer.from(n.toUpperCase()));
  assert.equal(out.toString(), "A:B");
  assert.throws(() => parseTemplate("Bearer {{secret }}"), /malformed/);
  assert.throws(() => parseTemplate("Bearer {{secret ../x}}"), /invalid secret reference/);
});

test("--header and --basic validation", () => {
  assert.deepEqual(parseHeaderOption("Authorization: Bearer {{secret t}}"), {
    name: "Authorization",
    template: "Bearer {{secret t}}",
    encoding: "plain",
  });
  assert.throws(() => parseHeaderOption("Authorization Bearer"), /Name: value/);
  assert.throws(() => parseHeaderOption("Host: {{secret t}}"), /managed by the proxy/);
  assert.throws(() => parseHeaderOption("X-Key: literal"), /references no secret/);
  assert.throws(() => parseHeaderOption("Bad Name: {{secret t}}"), /invalid header name/);
  assert.equal(parseBasicOption("x-access-token:{{secret t}}").encoding, "basic");
  assert.throws(() => parseBasicOption("{{secret t}}"), /user:/);
});

test("grant shapes: names, hosts, variables", () => {
  const http = {
    kind: "http" as const,
    hosts: ["api.x.io"],
    headers: [{ name: "A", template: "{{secret t}}", encoding: "plain" as const }],
    createdAt: "",
  };
  validateGrantShape("ok-name", http);
  assert.throws(() => validateGrantShape("bad name", http), /invalid grant name/);
  assert.throws(() => validateGrantShape("g", { ...http, hosts: ["*"] }), /every host/);
  assert.throws(() => validateGrantShape("g", { ...http, env: "1BAD" }), /environment variable/);
  assert.throws(
    () =>
      validateGrantShape("g", { ...http, headers: [http.headers[0]!, { ...http.headers[0]!, name: "a" }] }),
    /given twice/,
  );
  assert.throws(
    () => validateGrantShape("g", { kind: "env", var: "X", secret: "/bad", createdAt: "" }),
    /invalid secret name/,
  );
});
