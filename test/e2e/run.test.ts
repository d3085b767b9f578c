/**
 * `enclave run` end to end: the built CLI, real clients (curl, Node with a proxy agent, Python's
 * urllib) and a real HTTPS upstream with its own CA that records what it received. The upstream
 * must get the real credential; the child must see only the placeholder — in its environment,
 * its files and the echoed response. Then a hostile child tries each way around the proxy.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { filesUnder, REPO, type Sandbox, sandboxPool } from "../helpers/cli.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

const pool = sandboxPool();
const TOKEN = "ghp_R3alT0kenValue0123456789abcdefghijKL";
const BWRAP = (() => {
  try {
    execFileSync("bwrap", ["--unshare-net", "--ro-bind", "/", "/", "true"], { stdio: "ignore" });
    execFileSync("socat", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const MODES = BWRAP ? (["bwrap", "none"] as const) : (["none"] as const);

let sb: Sandbox;
let up: Upstream;
let work: string;

before(async () => {
  sb = await pool.vault("run");
  work = pool.tempDir("enclave-run-cwd-");
  up = await startUpstream(work);
  await sb.ok(["set", "github/token"], { input: TOKEN });
  await sb.ok([
    "grant",
    "http",
    "gh",
    "--host",
    `localhost:${up.port}`,
    "--header",
    "Authorization: Bearer {{secret github/token}}",
    "--env",
    "GITHUB_TOKEN",
  ]);
});
after(() => up.stop());

function run(args: string[], mode: string, extra: string[] = []) {
  return sb.run(
    ["run", "--grant", "gh", "--upstream-ca", up.caFile, "--sandbox", mode, ...extra, "--", ...args],
    {
      cwd: work,
    },
  );
}

const received = () => up.received.length;
const authOf = (i: number) => up.received[i]?.headers.authorization;

for (const mode of MODES) {
  describe(`run with --sandbox ${mode}`, () => {
    test("curl: upstream gets the real token, the child sees only the placeholder", async () => {
      const n = received();
      const r = await run(
        [
          "sh",
          "-c",
          `curl -sS --fail-with-body https://localhost:${up.port}/echo > echo.json; env > env.txt; cat echo.json`,
        ],
        mode,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(received(), n + 1);
      assert.equal(authOf(n), `Bearer ${TOKEN}`);
      const echoed = JSON.parse(r.stdout.toString()) as Record<string, string>;
      const placeholder = echoed.authorization!.replace(/^Bearer /, "");
      assert.notEqual(placeholder, TOKEN);
      assert.equal(placeholder.length, TOKEN.length);
      assert.match(placeholder, /^ghp_[A-Za-z0-9]+$/);
      const env = readFileSync(join(work, "env.txt"), "utf8");
      assert.match(
        env,
        new RegExp(`^GITHUB_TOKEN=${placeholder}$`, "m"),
        "the --env placeholder is the header's",
      );
      assert.match(env, /^HTTPS_PROXY=http:\/\/enclave:[0-9a-f]{64}@127\.0\.0\.1:\d+$/m);
      for (const f of filesUnder(work)) assert.ok(!readFileSync(f).includes(TOKEN), `${f} holds the token`);
      assert.ok(!r.stdout.includes(TOKEN) && !r.stderr.includes(TOKEN));
    });

    test("Node (https-proxy-agent) and Python (urllib) clients work through the proxy", async () => {
      const script = join(work, "client.mjs");
      writeFileSync(
        script,
        `import https from "node:https";
import { HttpsProxyAgent } from ${JSON.stringify(join(REPO, "node_modules/https-proxy-agent/dist/index.js"))};
const agent = new HttpsProxyAgent(process.env.HTTPS_PROXY);
https.get("https://localhost:${up.port}/echo", { agent }, (res) => { let b = ""; res.on("data", (c) => (b += c)); res.on("end", () => { process.stdout.write(b); }); });
`,
      );
      const n = received();
      const node = await run([process.execPath, script], mode);
      assert.equal(node.code, 0, node.stderr);
      assert.equal(authOf(n), `Bearer ${TOKEN}`);
      assert.ok(!node.stdout.includes(TOKEN));
      assert.match(node.stdout.toString(), /"authorization":"Bearer ghp_/);

      const py = await run(
        [
          "python3",
          "-c",
          `import urllib.request,sys; sys.stdout.write(urllib.request.urlopen("https://localhost:${up.port}/gzip").read().decode())`,
        ],
        mode,
      );
      assert.equal(py.code, 0, py.stderr);
      assert.equal(authOf(n + 1), `Bearer ${TOKEN}`);
      assert.ok(!py.stdout.includes(TOKEN), "a gzip-encoded echo is decoded and scrubbed");
      assert.match(py.stdout.toString(), /"authorization": ?"Bearer ghp_/);
    });

    test("a value split across response chunks is still scrubbed", async () => {
      const r = await run(["curl", "-sS", `https://localhost:${up.port}/split`], mode);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(TOKEN));
      assert.match(r.stdout.toString(), /^value=Bearer ghp_[A-Za-z0-9]{36};end$/);
    });

    test("exit code passes through; a missing command is 127", async () => {
      assert.equal((await run(["sh", "-c", "exit 7"], mode)).code, 7);
      assert.equal((await run(["definitely-not-a-command-xyz"], mode)).code, 127);
    });
  });
}

describe("a hostile child gets nothing", () => {
  const mode = BWRAP ? "bwrap" : "none";
  const nothingReached = async (args: string[], extra: string[] = []) => {
    const n = received();
    const r = await run(args, mode, extra);
    assert.equal(received(), n, `the upstream was reached: ${JSON.stringify(up.received.slice(n))}`);
    return r;
  };

  test("another host (strict network) gets 403 from the proxy", async () => {
    const r = await nothingReached([
      "curl",
      "-sS",
      "-w",
      "%{http_connect}",
      `https://127.0.0.2:${up.port}/echo`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout.toString(), /403/);
  });

  test("a Host header naming another host gets 421 and no credential", async () => {
    const r = await nothingReached([
      "curl",
      "-sS",
      "-w",
      "%{http_code}",
      "-H",
      `Host: 127.0.0.2:${up.port}`,
      `https://localhost:${up.port}/echo`,
    ]);
    assert.match(r.stdout.toString(), /does not match the CONNECT target.*421$/s);
  });

  test("a TLS server name (SNI) other than the CONNECT target gets 421", async () => {
    const script = join(work, "sni.mjs");
    writeFileSync(
      script,
      `import http from "node:http"; import tls from "node:tls";
const p = new URL(process.env.HTTPS_PROXY);
const auth = "Basic " + Buffer.from(decodeURIComponent(p.username) + ":" + decodeURIComponent(p.password)).toString("base64");
http.request({ host: p.hostname, port: p.port, method: "CONNECT", path: "localhost:${up.port}", headers: { "proxy-authorization": auth } })
  .on("connect", (res, socket) => {
    const t = tls.connect({ socket, servername: "evil.example", rejectUnauthorized: false }, () => {
      t.write("GET /echo HTTP/1.1\\r\\nHost: localhost:${up.port}\\r\\nConnection: close\\r\\n\\r\\n");
    });
    let b = ""; t.on("data", (c) => (b += c)); t.on("end", () => process.stdout.write(b));
  }).end();
`,
    );
    const r = await nothingReached([process.execPath, script]);
    assert.match(r.stdout.toString(), /^HTTP\/1\.1 421/);
    assert.match(r.stdout.toString(), /TLS server name evil\.example does not match/);
  });

  test("plain HTTP to a granted host is refused, not injected", async () => {
    const r = await nothingReached(["curl", "-sS", "-w", "%{http_code}", `http://localhost:${up.port}/echo`]);
    assert.match(r.stdout.toString(), /over HTTPS only.*403$/s);
  });

  test("TRACE is refused", async () => {
    const r = await nothingReached([
      "curl",
      "-sS",
      "-X",
      "TRACE",
      "-w",
      "%{http_code}",
      `https://localhost:${up.port}/echo`,
    ]);
    assert.match(r.stdout.toString(), /405$/);
  });

  test("a redirect to another host is a new request: no credential there", async () => {
    const n = received();
    const r = await run(["curl", "-sSL", `https://localhost:${up.port}/redirect`], mode, [
      "--allow",
      `127.0.0.2:${up.port}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(received(), n + 2);
    assert.equal(authOf(n), `Bearer ${TOKEN}`);
    assert.equal(up.received[n + 1]!.host, `127.0.0.2:${up.port}`);
    assert.equal(authOf(n + 1), undefined, "the redirected request carried a credential");
  });

  test("a request without the run's proxy token gets 407", async () => {
    const r = await nothingReached([
      "sh",
      "-c",
      `curl -sS -o /dev/null -w '%{http_connect}' --proxy "http://127.0.0.1:\${HTTPS_PROXY##*:}" https://localhost:${up.port}/echo; echo; ` +
        `curl -sS -o /dev/null -w '%{http_connect}' --proxy "http://enclave:wrong@127.0.0.1:\${HTTPS_PROXY##*:}" https://localhost:${up.port}/echo`,
    ]);
    assert.deepEqual(r.stdout.toString().trim().split("\n"), ["407", "407"]);
  });

  test("a direct connection (no proxy) fails inside the sandbox", {
    skip: !BWRAP && "bwrap unavailable",
  }, async () => {
    const r = await nothingReached([
      "curl",
      "-sS",
      "--noproxy",
      "*",
      "--max-time",
      "5",
      `https://localhost:${up.port}/echo`,
    ]);
    assert.notEqual(r.code, 0);
  });

  test("the vault's directories and the operator's credential files are hidden", {
    skip: !BWRAP && "bwrap unavailable",
  }, async () => {
    const r = await run(
      [
        "sh",
        "-c",
        'for p in "$@"; do if cat "$p" 2>/dev/null | grep -q .; then echo "READ $p"; fi; ls -A "$p" 2>/dev/null | grep -q . && echo "LISTED $p"; done; echo done',
        "sh",
        sb.vaultFile,
        sb.home,
        sb.runtimeDir,
        join(sb.runtimeDir, "github/token"),
      ],
      "bwrap",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().trim(), "done");
  });
});

describe("allowed hosts", () => {
  test("an allowed host that refuses the connection gets 502 naming it", async () => {
    const r = await sb.run(
      [
        "run",
        "--allow",
        "127.0.0.1:1",
        "--sandbox",
        "none",
        "--",
        "curl",
        "-sS",
        "-w",
        "%{http_connect}",
        "https://127.0.0.1:1/",
      ],
      { cwd: work },
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stdout.toString(), /502$/);
  });
});

describe("upstream verification", () => {
  test("an upstream the proxy cannot verify gets no request and no credential: 502 that says what to do", async () => {
    const n = received();
    const r = await sb.run(
      [
        "run",
        "--grant",
        "gh",
        "--sandbox",
        "none",
        "--",
        "curl",
        "-sS",
        "-w",
        "%{http_code}",
        `https://localhost:${up.port}/echo`,
      ],
      { cwd: work },
    );
    assert.equal(received(), n, "the request reached an unverified upstream");
    assert.match(r.stdout.toString(), /could not be verified.*--upstream-ca FILE.*502$/s);
  });
});

describe("bookkeeping", () => {
  test("runs and audit list the run; audit verify passes; no secret in the log; run dirs removed", async () => {
    // What an `enclave run` killed with SIGKILL leaves: swept by the next run (its owner is gone).
    const stale = join(`${sb.runtimeDir}.runs`, "20200101T000000Z-deadbeef");
    mkdirSync(stale, { recursive: true, mode: 0o700 });
    writeFileSync(join(stale, "pid"), "2147483646\n");
    writeFileSync(join(stale, "aws-token"), "left-behind");
    const r = await run(["curl", "-sS", `https://localhost:${up.port}/echo?q=secret-query`], "none");
    assert.equal(r.code, 0, r.stderr);
    const runs = JSON.parse(await sb.ok(["runs", "--json"])) as {
      id: string;
      command: string;
      exitCode: number;
      requests: number;
      grants: string[];
    }[];
    const last = runs.at(-1)!;
    assert.equal(last.command, "curl");
    assert.equal(last.exitCode, 0);
    assert.deepEqual(last.grants, ["gh"]);
    assert.equal(last.requests, 1);
    const records = JSON.parse(await sb.ok(["audit", "--run", last.id, "--json"])) as Record<
      string,
      unknown
    >[];
    const req = records.find((x) => x.type === "request")!;
    assert.equal(req.path, "/echo");
    assert.equal(req.grant, "gh");
    assert.equal(req.mode, "inject");
    assert.ok(
      records.some((x) => x.type === "credential" && String(x.fingerprint).startsWith("hmac-sha256:")),
    );
    await sb.ok(["audit", "verify"]);
    const log = readFileSync(join(sb.home, "audit.jsonl"));
    assert.ok(!log.includes(TOKEN) && !log.includes("secret-query"));
    const runsDir = `${sb.runtimeDir}.runs`;
    assert.deepEqual(existsSync(runsDir) ? readdirSync(runsDir) : [], []);
  });

  test("a locked vault: exit 6 and the command never starts", async () => {
    const locked = await pool.vault("run-locked", { unlock: false });
    const marker = join(work, "must-not-exist");
    const r = await locked.run(["run", "--", "touch", marker]);
    assert.equal(r.code, 6);
    assert.ok(!existsSync(marker));
  });

  test("a secret whose value would break a header (a trailing newline) stops the run before the command", async () => {
    await sb.ok(["set", "nl/token"], { input: "tok-with-newline\n" });
    await sb.ok(["grant", "http", "nl", "--host", "nl.example", "--header", "X-Key: {{secret nl/token}}"]);
    const marker = join(work, "must-not-exist-nl");
    const r = await sb.run(["run", "--grant", "nl", "--sandbox", "none", "--", "touch", marker]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /grant nl: header X-Key would contain a line break or control character/);
    assert.doesNotMatch(r.stderr, /tok-with-newline/);
    assert.ok(!existsSync(marker));
    await sb.ok(["grant", "rm", "nl"]);
  });

  test("an unknown grant is a usage error naming the grants", async () => {
    const r = await sb.run(["run", "--grant", "nope", "--", "true"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no grant named "nope" \(grants: gh\)/);
  });
});
