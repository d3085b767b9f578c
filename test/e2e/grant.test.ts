/** `enclave grant …` through the CLI: storage in the vault, listing, validation errors. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { type Sandbox, sandboxPool } from "../helpers/cli.js";

const pool = sandboxPool();
let sb: Sandbox;

before(async () => {
  sb = await pool.vault("grant");
  await sb.ok(["set", "github/token"], { input: "ghp_valueNeverShown0123456789abcdefghij" });
  await sb.ok(["set", "legacy/key"], { input: "legacy-value-never-shown" });
});

test("grants are stored in the vault (encrypted), listed with their rung, shown and removed", async () => {
  await sb.ok([
    "grant",
    "http",
    "gh",
    "--host",
    "api.github.com",
    "--host",
    "*.github.com",
    "--header",
    "Authorization: Bearer {{secret github/token}}",
    "--env",
    "GITHUB_TOKEN",
  ]);
  await sb.ok([
    "grant",
    "http",
    "git",
    "--host",
    "github.com",
    "--basic",
    "x-access-token:{{secret github/token}}",
  ]);
  const env = await sb.run(["grant", "env", "legacy", "--var", "LEGACY_KEY", "--secret", "legacy/key"]);
  assert.equal(env.code, 0);
  assert.match(env.stderr, /FLOOR/);
  assert.match(env.stderr, /prefer `grant http`/);
  const ls = JSON.parse(await sb.ok(["grant", "ls", "--json"])) as {
    name: string;
    kind: string;
    rung: number;
  }[];
  assert.deepEqual(
    ls.map((g) => [g.name, g.kind, g.rung]),
    [
      ["gh", "http", 2],
      ["git", "http", 2],
      ["legacy", "env", 3],
    ],
  );
  const text = await sb.ok(["grant", "ls"]);
  assert.match(text, /legacy\s+env\s+\$LEGACY_KEY = legacy\/key\s+FLOOR/);
  const show = JSON.parse(await sb.ok(["grant", "show", "git", "--json"])) as {
    headers: { encoding: string }[];
  };
  assert.equal(show.headers[0]!.encoding, "basic");
  const vault = readFileSync(sb.vaultFile);
  for (const clear of ["api.github.com", "LEGACY_KEY", "x-access-token"])
    assert.ok(!vault.includes(clear), `${clear} in clear`);
  const out = (await sb.ok(["grant", "ls", "--json"])) + (await sb.ok(["grant", "show", "gh"]));
  assert.ok(!out.includes("valueNeverShown") && !out.includes("legacy-value"));
  await sb.ok(["grant", "rm", "legacy"]);
  assert.equal((JSON.parse(await sb.ok(["grant", "ls", "--json"])) as unknown[]).length, 2);
});

test("bad grants: clear usage errors, nothing stored", async () => {
  const before = await sb.ok(["grant", "ls", "--json"]);
  const cases: [string[], RegExp][] = [
    [
      ["http", "x", "--host", "api.x.io", "--header", "Authorization: Bearer {{secret nope/missing}}"],
      /does not hold: nope\/missing/,
    ],
    [["http", "x", "--host", "*", "--header", "A: {{secret github/token}}"], /every host/],
    [["http", "x", "--host", "*.com", "--header", "A: {{secret github/token}}"], /top-level domain/],
    [["http", "x", "--host", "io", "--header", "A: {{secret github/token}}"], /bare top-level domain/],
    [["http", "x", "--host", "api.x.io"], /at least one --header/],
    [
      ["http", "gh", "--host", "api.x.io", "--header", "A: {{secret github/token}}"],
      /already exists.*--replace/,
    ],
    [["env", "y", "--var", "1X", "--secret", "legacy/key"], /environment variable/],
    [["aws", "z", "--role", "arn:aws:iam::12345:role/x", "--no-verify"], /12-digit|account/],
    [
      ["aws", "z", "--role", "arn:aws:iam::123456789012:role/x", "--duration", "5m", "--no-verify"],
      /15m|900|duration/i,
    ],
  ];
  for (const [args, why] of cases) {
    const r = await sb.run(["grant", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why, args.join(" "));
  }
  assert.equal(await sb.ok(["grant", "ls", "--json"]), before);
});

test("grants need an unlocked vault", async () => {
  const locked = await pool.vault("grant-locked", { unlock: false });
  assert.equal((await locked.run(["grant", "ls"])).code, 6);
});

test("grants sync with the vault: added on two machines, a pull merges them by name", async () => {
  const remote = join(pool.tempDir("enclave-grant-remote-"), "vault.enc");
  const a = await pool.vault("grant-sync-a");
  await a.ok(["set", "t"], { input: "value-t-0123456789" });
  await a.ok(["remote", "set", remote]);
  await a.ok(["push"]);
  const b = pool.sandbox("grant-sync-b");
  await b.ok(["remote", "set", remote]);
  await b.ok(["pull"]);
  await b.ok(["unlock", "--passphrase-file", b.passFile]);
  await a.ok(["grant", "http", "from-a", "--host", "a.example.com", "--header", "X-A: {{secret t}}"]);
  await a.ok(["push"]);
  await b.ok(["grant", "http", "from-b", "--host", "b.example.com", "--header", "X-B: {{secret t}}"]);
  const merged = JSON.parse(await b.ok(["pull", "--json"])) as { status: string };
  assert.equal(merged.status, "merged");
  const names = async (sbx: Sandbox) =>
    (JSON.parse(await sbx.ok(["grant", "ls", "--json"])) as { name: string }[]).map((g) => g.name);
  assert.deepEqual(await names(b), ["from-a", "from-b"]);
  await b.ok(["push"]);
  await a.ok(["pull"]);
  assert.deepEqual(await names(a), ["from-a", "from-b"]);
});

test("a grant changed differently on two machines is a conflict, settled per grant or for all", async () => {
  const remote = join(pool.tempDir("enclave-grant-conflict-"), "vault.enc");
  const a = await pool.vault("grant-conflict-a");
  await a.ok(["set", "t"], { input: "value-t-0123456789" });
  await a.ok(["grant", "http", "api", "--host", "api.example.com", "--header", "X-K: {{secret t}}"]);
  await a.ok(["remote", "set", remote]);
  await a.ok(["push"]);
  const b = pool.sandbox("grant-conflict-b");
  await b.ok(["remote", "set", remote]);
  await b.ok(["pull"]);
  await b.ok(["unlock", "--passphrase-file", b.passFile]);
  const hosts = async (sbx: Sandbox) =>
    (JSON.parse(await sbx.ok(["grant", "show", "api", "--json"])) as { hosts: string[] }).hosts;
  // Both machines point the same grant somewhere else.
  await a.ok([
    "grant",
    "http",
    "api",
    "--replace",
    "--host",
    "a.example.com",
    "--header",
    "X-K: {{secret t}}",
  ]);
  await a.ok(["push"]);
  await b.ok([
    "grant",
    "http",
    "api",
    "--replace",
    "--host",
    "b.example.com",
    "--header",
    "X-K: {{secret t}}",
  ]);
  const conflict = await b.run(["pull"]);
  assert.equal(conflict.code, 5, conflict.stderr);
  assert.match(conflict.stderr, /grant\(s\) "api"/);
  assert.match(conflict.stderr, /--take-grant NAME=ours\|theirs/);
  assert.deepEqual(await hosts(b), ["b.example.com"], "nothing changed on a conflict");
  const bad = await b.run(["pull", "--take-grant", "api=mine"]);
  assert.equal(bad.code, 2);
  const settled = JSON.parse(await b.ok(["pull", "--take-grant", "api=theirs", "--json"])) as {
    resolved: { kind: string; name: string; side: string }[];
  };
  assert.deepEqual(settled.resolved, [{ kind: "grant", name: "api", side: "theirs" }]);
  assert.deepEqual(await hosts(b), ["a.example.com"]);
});

test("a merge that ends equal to the remote adopts it, whatever order its grants were stored in", async () => {
  const remote = join(pool.tempDir("enclave-grant-order-"), "vault.enc");
  const a = await pool.vault("grant-order-a");
  await a.ok(["set", "t"], { input: "value-t-0123456789" });
  // Stored in the order added: z before a (a merge's result lists them by name).
  await a.ok(["grant", "http", "z-api", "--host", "z.example.com", "--header", "X-Z: {{secret t}}"]);
  await a.ok(["grant", "http", "a-api", "--host", "a.example.com", "--header", "X-A: {{secret t}}"]);
  await a.ok(["remote", "set", remote]);
  await a.ok(["push"]);
  const b = pool.sandbox("grant-order-b");
  await b.ok(["remote", "set", remote]);
  await b.ok(["pull"]);
  await b.ok(["unlock", "--passphrase-file", b.passFile]);
  // The same change on both sides: after the merge nothing differs from the remote.
  await a.ok(["set", "same"], { input: "same-value-0123456789" });
  await a.ok(["push"]);
  await b.ok(["set", "same"], { input: "same-value-0123456789" });
  const merged = JSON.parse(await b.ok(["pull", "--json"])) as { status: string; needsPush: boolean };
  assert.equal(merged.status, "merged");
  assert.equal(merged.needsPush, false);
});
