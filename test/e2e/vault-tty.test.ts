/**
 * The hidden prompt, on a real pseudo-terminal (util-linux `script`): asked twice at init, never
 * echoed, and a mismatch creates nothing.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import { CLI, FAST_KDF, makeSandbox, PASSPHRASE, type Sandbox } from "../helpers/cli.js";

const sandboxes: Sandbox[] = [];
after(() => {
  for (const s of sandboxes) s.cleanup();
});

/** Run the CLI on a pty; answer each prompt (matched in the output) with the next line. */
function onTerminal(
  sb: Sandbox,
  args: string[],
  answers: [RegExp, string][],
  /** Typed at once, before any prompt: keystrokes made during an earlier step. */
  typeAhead?: string,
): Promise<{ code: number | null; screen: string }> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
  const child = spawn("script", ["-qefc", cmd, "/dev/null"], { env: { ...sb.env, TERM: "dumb" } });
  let screen = "";
  let next = 0;
  const onOutput = (d: Buffer) => {
    screen += d.toString();
    const a = answers[next];
    if (a?.[0].test(screen.slice(screen.lastIndexOf("\n", screen.length - 2) + 1))) {
      next++;
      setTimeout(() => child.stdin.write(`${a[1]}\r`), 50);
    }
  };
  if (typeAhead) child.stdin.write(typeAhead);
  child.stdout.on("data", onOutput);
  child.stderr.on("data", onOutput);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((res) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      res({ code, screen });
    }),
  );
}

test("init on a terminal asks twice, echoes nothing, and the vault opens with that passphrase", async () => {
  const sb = makeSandbox("tty");
  sandboxes.push(sb);
  const secret = "typed-on-a-terminal-42";
  const r = await onTerminal(
    sb,
    ["init", "--kdf", FAST_KDF],
    [
      [/New passphrase: $/, secret],
      [/Repeat the passphrase: $/, secret],
    ],
  );
  assert.equal(r.code, 0, r.screen);
  assert.ok(!r.screen.includes(secret), `passphrase echoed: ${JSON.stringify(r.screen)}`);
  const u = await sb.run(["unlock", "--passphrase-file", "-"], { input: secret });
  assert.equal(u.code, 0, u.stderr);
  // A value typed at the hidden prompt of `set` is stored and not echoed either.
  const s = await onTerminal(sb, ["set", "typed"], [[/Value for typed \(hidden\): $/, "v4lue-typed"]]);
  assert.equal(s.code, 0, s.screen);
  assert.ok(!s.screen.includes("v4lue-typed"));
  assert.equal(await sb.ok(["get", "typed"]), "v4lue-typed");
});

test("mismatched passphrases at init create nothing", async () => {
  const sb = makeSandbox("tty-mismatch");
  sandboxes.push(sb);
  const r = await onTerminal(
    sb,
    ["init", "--kdf", FAST_KDF],
    [
      [/New passphrase: $/, "first passphrase"],
      [/Repeat the passphrase: $/, "second passphrase"],
    ],
  );
  assert.equal(r.code, 2, r.screen);
  assert.match(r.screen, /do not match/);
  assert.equal(existsSync(sb.vaultFile), false);
});

test("bootstrap's passphrase prompt ignores keystrokes typed before it appeared", async () => {
  const src = makeSandbox("tty-src");
  sandboxes.push(src);
  await src.ok(["init", "--kdf", FAST_KDF, "--passphrase-file", src.passFile]);
  const remote = `${src.home}-remote.enc`;
  await src.ok(["remote", "set", remote]);
  await src.ok(["push"]);
  const sb = makeSandbox("tty-boot");
  sandboxes.push(sb);
  const r = await onTerminal(
    sb,
    ["bootstrap", "--remote", remote],
    [[/Vault passphrase: $/, PASSPHRASE]],
    "stray keys ",
  );
  assert.equal(r.code, 0, r.screen);
  assert.equal(JSON.parse(await sb.ok(["status", "--json"])).unlocked, true);
});
