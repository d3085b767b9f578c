/**
 * Two homes, A and B, sync one remote — through S3 (moto_server; with and without bucket
 * versioning) and through a path. No push is ever silently overwritten.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DeleteObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { PASSPHRASE, type Sandbox, sandboxPool, secretNames } from "../helpers/cli.js";
import { type Moto, startMoto } from "../helpers/moto.js";

// Sandboxes get moto's endpoint and credentials (or nothing, for a path remote) as `env`.
const pool = sandboxPool();
let moto: Moto;
const scratch = pool.tempDir("enclave-remote-");

before(async () => {
  moto = await startMoto();
});
after(async () => {
  await moto?.stop();
});

type RemoteCase = {
  label: string;
  url: () => Promise<string>;
  env: () => NodeJS.ProcessEnv;
  versioned: boolean;
};

const cases: RemoteCase[] = [
  {
    label: "S3 with bucket versioning",
    versioned: true,
    env: () => moto.env,
    url: async () => {
      await moto.createBucket("versioned", { versioned: true });
      return "s3://versioned/team/vault.enc";
    },
  },
  {
    label: "S3 without versioning (history prefix)",
    versioned: false,
    env: () => moto.env,
    url: async () => {
      await moto.createBucket("plain");
      return "s3://plain/vault.enc";
    },
  },
  {
    label: "a path remote",
    versioned: false,
    env: () => ({}),
    url: async () => join(scratch, "usb-stick", "vault.enc"),
  },
];

for (const c of cases) {
  describe(c.label, () => {
    let url: string;
    let a: Sandbox;
    let b: Sandbox;

    before(async () => {
      url = await c.url();
      if (!url.startsWith("s3://"))
        (await import("node:fs")).mkdirSync(join(scratch, "usb-stick"), { recursive: true });
      a = await pool.vault(`sync-a-${pool.size}`, { env: c.env() });
      b = pool.sandbox(`sync-b-${pool.size}`, c.env());
    });

    test("A pushes first; B, with an empty home, pulls it and unlocks", async () => {
      await a.ok(["set", "shared/one"], { input: "1" });
      await a.ok(["remote", "set", url]);
      const first = JSON.parse(await a.ok(["push", "--json"]));
      assert.equal(first.status, "pushed");
      assert.equal(
        JSON.parse(await a.ok(["push", "--json"])).status,
        "up-to-date",
        "an unchanged vault is not pushed again",
      );
      await b.ok(["remote", "set", url]);
      assert.equal(JSON.parse(await b.ok(["pull", "--json"])).status, "cloned");
      const again = JSON.parse(await b.ok(["pull", "--json"]));
      assert.equal(again.status, "up-to-date");
      assert.equal(again.needsPush, false);
      await b.ok(["unlock", "--passphrase-file", b.passFile]);
      assert.equal(await b.ok(["get", "shared/one"]), "1");
    });

    test("B's stale push exits 5 and the remote keeps A's change; B pulls, merges, pushes", async () => {
      await a.ok(["set", "from-a"], { input: "A" });
      await a.ok(["push"]);
      await b.ok(["set", "from-b"], { input: "B" });
      const stale = await b.run(["push"]);
      assert.equal(stale.code, 5, stale.stderr);
      assert.match(stale.stderr, /enclave pull/);
      // The remote still holds A's change: a third home sees it.
      const c3 = pool.sandbox(`sync-c-${pool.size}`, c.env());
      await c3.ok(["remote", "set", url]);
      await c3.ok(["pull"]);
      await c3.ok(["unlock", "--passphrase-file", c3.passFile]);
      assert.deepEqual(await secretNames(c3), ["from-a", "shared/one"]);
      // B merges by secret: A's new secret and B's own combine.
      const merged = JSON.parse(await b.ok(["pull", "--json"]));
      assert.equal(merged.status, "merged");
      assert.equal(merged.needsPush, true);
      assert.deepEqual(await secretNames(b), ["from-a", "from-b", "shared/one"]);
      assert.equal(readFileSync(join(b.runtimeDir, "from-a"), "utf8"), "A", "the RAM copy follows the pull");
      await b.ok(["push"]);
      // A only has to fast-forward.
      const ff = JSON.parse(await a.ok(["pull", "--json"]));
      assert.equal(ff.status, "fast-forward");
      assert.deepEqual(ff.updated, ["from-b"]);
      assert.equal(readFileSync(join(a.runtimeDir, "from-b"), "utf8"), "B");
    });

    test("the same secret changed on both sides is a conflict that names it, settled either way", async () => {
      await a.ok(["set", "x"], { input: "A1" });
      await a.ok(["push"]);
      await b.ok(["set", "x"], { input: "B1" });
      const conflict = await b.run(["pull"]);
      assert.equal(conflict.code, 5);
      assert.match(conflict.stderr, /"x"/);
      assert.match(conflict.stderr, /--ours or --theirs/);
      assert.equal(await b.ok(["get", "x"]), "B1", "nothing changed on conflict");
      await b.ok(["pull", "--theirs"]);
      assert.equal(await b.ok(["get", "x"]), "A1");
      // And the other way, per secret.
      await a.ok(["set", "x"], { input: "A2" });
      await a.ok(["push"]);
      await b.ok(["set", "x"], { input: "B2" });
      await b.ok(["pull", "--take", "x=ours"]);
      assert.equal(await b.ok(["get", "x"]), "B2");
      await b.ok(["push"]);
      await a.ok(["pull"]);
      assert.equal(await a.ok(["get", "x"]), "B2");
    });

    test("a locked vault with local changes refuses to merge (exit 6) and keeps both sides", async () => {
      await a.ok(["set", "y"], { input: "from a" });
      await a.ok(["push"]);
      await b.ok(["set", "z"], { input: "from b" });
      await b.ok(["lock"]);
      const r = await b.run(["pull"]);
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, /unlock/);
      await b.ok(["unlock", "--passphrase-file", b.passFile]);
      await b.ok(["pull"]);
      assert.ok((await secretNames(b)).includes("y") && (await secretNames(b)).includes("z"));
      await b.ok(["push"]);
    });

    test("history lists versions and restore brings an old one back", async () => {
      const h = JSON.parse(await a.ok(["history", "--json"]));
      assert.equal(h.storage === "s3-versioning", c.versioned, `storage ${h.storage}`);
      assert.ok(h.versions.length >= 6, `versions: ${h.versions.length}`);
      assert.equal(h.versions.filter((v: { current: boolean }) => v.current).length, 1);
      const oldest = h.versions.at(-1).id;
      await a.ok(["pull"]);
      await a.ok(["restore", oldest, "--push"]);
      assert.deepEqual(await secretNames(a), ["shared/one"]);
      assert.equal(existsSync(join(a.runtimeDir, "from-a")), false, "RAM follows the restore");
      const after = JSON.parse(await a.ok(["history", "--json"]));
      assert.equal(
        after.versions.length,
        h.versions.length + 1,
        "the restore is a new version, nothing is lost",
      );
      await b.ok(["pull"]);
      assert.deepEqual(await secretNames(b), ["shared/one"]);
    });

    test("the remote holds ciphertext only: no secret names or values in its bytes", async () => {
      await a.ok(["set", "visible-name-canary"], { input: "visible-value-canary" });
      await a.ok(["push"]);
      const d = pool.sandbox(`sync-d-${pool.size}`, c.env());
      await d.ok(["remote", "set", url]);
      await d.ok(["pull"]);
      const bytes = readFileSync(d.vaultFile);
      assert.equal(bytes.indexOf("visible-name-canary"), -1);
      assert.equal(bytes.indexOf("visible-value-canary"), -1);
      assert.equal(bytes.indexOf(PASSPHRASE), -1);
      if (url.startsWith("s3://")) {
        const [bucket, ...key] = url.slice(5).split("/");
        const head = await moto.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key.join("/") }));
        assert.deepEqual(head.Metadata ?? {}, {}, "no user metadata on the object");
        assert.equal(head.ContentType, "application/octet-stream");
      }
    });
  });
}

test("static credentials in the environment win at once over an SSO profile (no 30 s hang)", async () => {
  await moto.createBucket("static-wins");
  const sb = await pool.vault(`sync-static-${pool.size}`, { env: moto.env });
  const cfg = join(scratch, "sso-config");
  writeFileSync(
    cfg,
    "[default]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n" +
      "[sso-session corp]\nsso_start_url = https://corp.awsapps.example/start\nsso_region = us-east-1\n",
  );
  await sb.ok(["remote", "set", "s3://static-wins/v.enc"]);
  const started = Date.now();
  const r = await sb.run(["push"], {
    env: { AWS_CONFIG_FILE: cfg, AWS_PROFILE: "default", AWS_EC2_METADATA_DISABLED: "true" },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started < 10_000, `push took ${Date.now() - started} ms`);
});

test("a remote without versioning keeps at most historyRetention copies", async () => {
  const sb = await pool.vault(`sync-retention-${pool.size}`);
  const remote = join(scratch, "retention", "vault.enc");
  mkdirSync(join(scratch, "retention"));
  await sb.ok(["remote", "set", remote]);
  writeFileSync(
    join(sb.home, "config.yaml"),
    `${readFileSync(join(sb.home, "config.yaml"), "utf8")}historyRetention: 3\n`,
  );
  for (let i = 0; i < 5; i++) {
    await sb.ok(["set", "k"], { input: `v${i}` });
    await sb.ok(["push"]);
  }
  const h = JSON.parse(await sb.ok(["history", "--json"]));
  assert.equal(h.versions.length, 3);
  assert.equal(h.versions[0].current, true);
});

test("a remote object deleted behind enclave's back is created again by the next push", async () => {
  await moto.createBucket("deleted");
  for (const url of ["s3://deleted/v.enc", join(scratch, "deleted.enc")]) {
    const env = url.startsWith("s3://") ? moto.env : {};
    const sb = await pool.vault(`sync-deleted-${pool.size}`, { env });
    await sb.ok(["remote", "set", url]);
    await sb.ok(["set", "k"], { input: "1" });
    await sb.ok(["push"]);
    if (url.startsWith("s3://"))
      await moto.s3.send(new DeleteObjectCommand({ Bucket: "deleted", Key: "v.enc" }));
    else rmSync(url);
    const pull = await sb.run(["pull"]);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, /holds no vault yet; `enclave push` uploads this one/);
    await sb.ok(["set", "k"], { input: "2" });
    assert.equal(JSON.parse(await sb.ok(["push", "--json"])).status, "pushed", url);
    const reader = pool.sandbox(`sync-deleted-r-${pool.size}`, env);
    await reader.ok(["bootstrap", "--remote", url, "--passphrase-file", reader.passFile]);
    assert.equal(await reader.ok(["get", "k"]), "2");
  }
});
