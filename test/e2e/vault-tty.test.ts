/**
 * The hidden prompt, on a real pseudo-terminal (util-linux `script`): asked twice at init, never
 * echoed, and a mismatch creates nothing.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FAST_KDF, PASSPHRASE, sandboxPool } from "../helpers/cli.js";
import { onTerminal } from "../helpers/pty.js";

const { sandbox, vault, tempDir } = sandboxPool();

test("init on a terminal asks twice, echoes nothing, and the vault opens with that passphrase", async () => {
  const sb = sandbox("tty");
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
  const sb = sandbox("tty-mismatch");
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
  const src = await vault("tty-src", { unlock: false });
  const remote = join(tempDir("enclave-tty-remote-"), "vault.enc");
  await src.ok(["remote", "set", remote]);
  await src.ok(["push"]);
  const sb = sandbox("tty-boot");
  const r = await onTerminal(
    sb,
    ["bootstrap", "--remote", remote],
    [[/Vault passphrase: $/, PASSPHRASE]],
    "stray keys ",
  );
  assert.equal(r.code, 0, r.screen);
  assert.equal(JSON.parse(await sb.ok(["status", "--json"])).unlocked, true);
});
