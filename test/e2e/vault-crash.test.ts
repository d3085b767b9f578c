/** Concurrency, crashes and expiry: nothing is lost, the vault always opens. */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { sandboxPool, secretNames } from "../helpers/cli.js";

const { vault, tempDir } = sandboxPool();
/** Alive and not a zombie waiting for init to reap it. */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

test("parallel set calls lose no value", async () => {
  const sb = await vault("parallel");
  const n = 8;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => sb.run(["set", `p/k${i}`], { input: `value-${i}` })),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const names = await secretNames(sb);
  assert.equal(names.length, n);
  for (let i = 0; i < n; i++) assert.equal(await sb.ok(["get", `p/k${i}`]), `value-${i}`);
});

test("a process killed mid-write leaves a vault that still unlocks, holding the old or the new value", async () => {
  const sb = await vault("kill");
  // Large values make each write (encrypt, checksum, write, fsync) take long enough to be hit.
  const files = ["A", "B"].map((tag) => {
    const f = join(tempDir("enclave-kill-"), `${tag}.bin`);
    writeFileSync(f, randomBytes(16 * 1024 * 1024));
    return f;
  });
  const hashes = files.map((f) => sha(readFileSync(f)));
  await sb.ok(["set", "big", "--from-file", files[0]!]);
  let killedMidway = 0;
  for (let i = 0; i < 8; i++) {
    // Kill the writer the moment it touches the vault's folder (temp file created, data written,
    // rename) — the first, second or third event — rather than after a guessed delay.
    const nth = (i % 3) + 1;
    const p = sb.run(["set", "big", "--from-file", files[(i + 1) % 2]!]);
    let seen = 0;
    const watcher = watch(sb.home, (_event, file) => {
      if (!file || file.startsWith("vault.lock")) return;
      if (++seen === nth) p.child.kill("SIGKILL");
    });
    const r = await p;
    watcher.close();
    if (r.signal === "SIGKILL") killedMidway++;
    // The vault file parses and decrypts (through the session key), with one of the two values.
    const got = await sb.run(["get", "big"]);
    assert.equal(got.code, 0, `after kill ${i}: ${got.stderr}`);
    assert.ok(hashes.includes(sha(got.stdout)), `after kill ${i}: value is neither old nor new`);
  }
  assert.ok(killedMidway >= 4, `writers killed before finishing: ${killedMidway} of 8`);
  // A completed write clears temp files that killed writers left behind.
  await sb.ok(["set", "small"], { input: "x" });
  assert.deepEqual(
    readdirSync(sb.home).filter((f) => f.includes(".tmp-")),
    [],
  );
  await sb.ok(["lock"]);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  assert.ok(hashes.includes(sha((await sb.run(["get", "big"])).stdout)));
});

test("after the TTL the session counts as locked and is wiped on the next command, pending edits saved", async () => {
  const sb = await vault("ttl", { unlock: false });
  await sb.ok(["unlock", "--passphrase-file", sb.passFile, "--ttl", "2s"]);
  await sb.ok(["set", "a"], { input: "1" });
  writeFileSync(join(sb.runtimeDir, "a"), "edited in RAM");
  // Stop the reaper, so this is the next command's job.
  process.kill(Number(readFileSync(join(sb.runtimeDir, ".enclave/reaper.pid"), "utf8")), "SIGKILL");
  await sleep(2300);
  assert.ok(existsSync(sb.runtimeDir), "still there until a command runs");
  const r = await sb.run(["get", "a"]);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /expired/);
  assert.equal(existsSync(sb.runtimeDir), false, "runtime directory wiped");
  assert.equal(JSON.parse(await sb.ok(["status", "--json"])).unlocked, false);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(await sb.ok(["get", "a"]), "edited in RAM");
});

test("the expiry reaper wipes the session at the TTL without any command, saving pending edits", async () => {
  const sb = await vault("reaper", { unlock: false });
  await sb.ok(["unlock", "--passphrase-file", sb.passFile, "--ttl", "2s"]);
  const pid = Number(readFileSync(join(sb.runtimeDir, ".enclave/reaper.pid"), "utf8"));
  writeFileSync(join(sb.runtimeDir, "late"), "saved by the reaper");
  const deadline = Date.now() + 10_000;
  while (existsSync(sb.runtimeDir) && Date.now() < deadline) await sleep(100);
  assert.equal(existsSync(sb.runtimeDir), false, "wiped within seconds of the TTL");
  const gone = Date.now() + 5_000;
  while (isRunning(pid) && Date.now() < gone) await sleep(100);
  assert.equal(isRunning(pid), false, "the reaper exits when its work is done");
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(await sb.ok(["get", "late"]), "saved by the reaper");
});

test("unlocking again keeps the one reaper the session has", async () => {
  const sb = await vault("reaper-exit", { unlock: false });
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  const pid = Number(readFileSync(join(sb.runtimeDir, ".enclave/reaper.pid"), "utf8"));
  assert.ok(isRunning(pid));
  // Unlocking again (TTL extension) does not start a second reaper.
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(Number(readFileSync(join(sb.runtimeDir, ".enclave/reaper.pid"), "utf8")), pid);
  await sb.ok(["lock"]);
  // The reaper notices the lock at its next look (at most 10 s later) and exits.
});

test("an unlock that died half-way leaves no session; the next unlock cleans up and works", async () => {
  const sb = await vault("halfway", { unlock: false });
  // What a killed unlock leaves: the marker folder and some files, but no session record.
  mkdirSync(join(sb.runtimeDir, ".enclave"), { recursive: true, mode: 0o700 });
  writeFileSync(join(sb.runtimeDir, "partial"), "half");
  assert.equal(JSON.parse(await sb.ok(["status", "--json"])).unlocked, false);
  assert.equal((await sb.run(["get", "partial"])).code, 6);
  await sb.ok(["unlock", "--passphrase-file", sb.passFile]);
  assert.equal(existsSync(join(sb.runtimeDir, "partial")), false);
});
