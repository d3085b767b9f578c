/**
 * The bubblewrap sandbox for real: bwrap, socat, curl and node run inside it. A Unix-socket HTTP
 * server stands in for the run's proxy. Fixtures live under /var/tmp, a path the sandbox would
 * show (read-only) if it were not hidden, unlike /tmp, which the sandbox replaces anyway.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { EnclavePaths } from "../../src/config/paths.js";
import {
  defaultHiddenPaths,
  planSandbox,
  type SandboxRequest,
  type SpawnPlan,
} from "../../src/sandbox/sandbox.js";
import { findExecutable, sandboxTools } from "../../src/sandbox/tools.js";

const tools = sandboxTools();
// The sandbox's programs must be installed (CI installs them); only a machine that forbids
// the namespaces is a reason to skip.
assert.ok(tools.bwrap && tools.socat, `install bubblewrap and socat to run these tests (${tools.reason})`);
const skip = tools.ok ? false : `bwrap cannot create namespaces on this machine: ${tools.reason}`;

const NODE = process.execPath;
const CURL = findExecutable("curl") ?? "curl";
const PORT = 24_000 + Math.floor(Math.random() * 20_000);

const base = mkdtempSync(existsSync("/var/tmp") ? "/var/tmp/enclave-sbx-" : join(process.cwd(), ".sbx-"));
const shmBase = mkdtempSync("/dev/shm/enclave-sbx-");
const servers: (Server | TcpServer)[] = [];
after(() => {
  for (const s of servers) s.close();
  rmSync(base, { recursive: true, force: true });
  rmSync(shmBase, { recursive: true, force: true });
});

interface Fixture {
  home: string;
  paths: EnclavePaths;
  runDir: string;
  cwd: string;
  /** Requests the stand-in proxy received: method and URL. */
  seen: string[];
}

/** A fake HOME with credentials, ENCLAVE_HOME, runtime dir, runs dir with two runs, a project. */
function fixture(): Promise<Fixture> {
  const home = join(base, "home");
  const enclaveHome = join(base, "enclave-home");
  const runtimeDir = join(base, "rt");
  const runsDir = `${runtimeDir}.runs`;
  const runDir = join(runsDir, "run-1");
  const cwd = join(base, "project");
  for (const d of [enclaveHome, join(runtimeDir, "github"), join(runsDir, "run-0"), runDir, cwd])
    mkdirSync(d, { recursive: true, mode: 0o700 });
  // ~/.aws is a symlink: what it points to must vanish, by either name.
  mkdirSync(join(base, "aws-real"));
  writeFileSync(join(base, "aws-real", "credentials"), "[default]\naws_secret_access_key=HOSTKEY\n");
  mkdirSync(join(home, ".ssh"), { recursive: true });
  symlinkSync(join(base, "aws-real"), join(home, ".aws"));
  writeFileSync(join(home, ".ssh", "id_ed25519"), "PRIVATE KEY\n");
  writeFileSync(join(home, ".netrc"), "machine x login y password HOSTPW\n");
  writeFileSync(join(home, "notes.txt"), "visible\n");
  symlinkSync(runtimeDir, join(home, "secrets"));
  writeFileSync(join(enclaveHome, "vault.enc"), "CIPHERTEXT");
  writeFileSync(join(runtimeDir, "github", "token"), "ghp_PLAINTEXT");
  writeFileSync(join(runsDir, "run-0", "token"), "OTHER RUN");
  writeFileSync(join(runDir, "ca.pem"), "RUN CA\n");
  mkdirSync(join(cwd, ".private"));
  writeFileSync(join(cwd, ".private", "key"), "PROJECT KEY");
  writeFileSync(join(cwd, ".env"), "TOKEN=PROJECT_ENV");
  writeFileSync(join(cwd, "README"), "project readme\n");
  const paths: EnclavePaths = {
    home: enclaveHome,
    vaultFile: join(enclaveHome, "vault.enc"),
    configFile: join(enclaveHome, "config.yaml"),
    lockTarget: join(enclaveHome, "vault.lock"),
    runtimeDir,
    auditFile: join(enclaveHome, "audit.jsonl"),
    runsDir,
  };
  const seen: string[] = [];
  return proxyServer(join(runDir, "proxy.sock"), seen).then(() => ({ home, paths, runDir, cwd, seen }));
}

/** The stand-in for the run's proxy: answers every request (origin- or absolute-form). */
function proxyServer(path: string, seen: string[]): Promise<void> {
  const srv = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.end(`proxy saw ${req.method} ${req.url}\n`);
  });
  servers.push(srv);
  return new Promise((res) => srv.listen(path, res));
}

let fx: Fixture;
before(async () => {
  fx = await fixture();
});

function request(command: string, args: string[], over: Partial<SandboxRequest> = {}): SandboxRequest {
  return {
    command,
    args,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: fx.home, LANG: "C" },
    cwd: fx.cwd,
    proxySocket: join(fx.runDir, "proxy.sock"),
    proxyPort: PORT,
    runDir: fx.runDir,
    hide: [...defaultHiddenPaths(fx.paths, fx.home, {}), join(fx.cwd, ".private"), join(fx.cwd, ".env")],
    ...over,
  };
}

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawn a plan as the caller does (stdio piped here), optionally acting on its output. */
function runPlan(
  plan: SpawnPlan,
  opts: { input?: string; detached?: boolean; onOutput?: (out: string, child: ChildProcess) => void } = {},
): Promise<Ran> {
  const child = spawn(plan.file, plan.args, { env: plan.env, cwd: plan.cwd, detached: opts.detached });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    opts.onOutput?.(stdout, child);
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin!.on("error", () => undefined); // a command that exits without reading
  child.stdin!.end(opts.input ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((res) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    }),
  );
}

const sandboxed = (
  command: string,
  args: string[],
  over?: Partial<SandboxRequest>,
  opts?: Parameters<typeof runPlan>[1],
) => runPlan(planSandbox("bwrap", request(command, args, over)), opts);

describe("bwrap sandbox: the way out is the proxy", { skip }, () => {
  test("the child reaches the proxy on 127.0.0.1:PORT, origin-form and proxy-form, from its first instruction", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await sandboxed(CURL, [
        "-sS",
        `http://127.0.0.1:${PORT}/latest/credentials`,
        "-x",
        "",
        "--next",
        "-sS",
        "-x",
        `http://127.0.0.1:${PORT}`,
        "http://api.example.com/v1/x?q=1",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        "proxy saw GET /latest/credentials\nproxy saw GET http://api.example.com/v1/x?q=1\n",
      );
    }
    assert.ok(fx.seen.includes("GET http://api.example.com/v1/x?q=1"));
  });

  test("the bridge listens before the command starts (a shell's very first act is to connect)", async () => {
    const connectFirst = `exec 3<>/dev/tcp/127.0.0.1/${PORT} || exit 9
      printf 'GET /first HTTP/1.0\r\n\r\n' >&3; cat <&3`;
    for (let i = 0; i < 5; i++) {
      const r = await sandboxed("/bin/bash", ["-c", connectFirst]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /proxy saw GET \/first/);
    }
  });

  test("a socket path socat cannot parse is bound at a fixed path instead", async () => {
    const runDir = join(shmBase, "odd dir,with:colon");
    mkdirSync(runDir);
    const seen: string[] = [];
    await proxyServer(join(runDir, "proxy.sock"), seen);
    const r = await sandboxed(CURL, ["-sS", `http://127.0.0.1:${PORT}/odd`], {
      runDir,
      proxySocket: join(runDir, "proxy.sock"),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "proxy saw GET /odd\n");
    assert.deepEqual(seen, ["GET /odd"]);
  });

  test("direct connections go nowhere: host loopback and the host's other addresses", async () => {
    const hits: string[] = [];
    const listen = (host: string) =>
      new Promise<number>((res) => {
        const s = createTcpServer((sock) => {
          hits.push(host);
          sock.end("HTTP/1.0 200 OK\r\n\r\nhost server\n");
        });
        servers.push(s);
        s.listen(0, host, () => res((s.address() as { port: number }).port));
      });
    const loopPort = await listen("127.0.0.1");
    const anyPort = await listen("0.0.0.0");
    const external = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
    const targets = [`127.0.0.1:${loopPort}`, ...(external ? [`${external}:${anyPort}`] : [])];
    // From the host, both answer: the test can fail.
    for (const t of targets) {
      const [h, p] = t.split(":");
      await new Promise<void>((res, rej) =>
        connect(Number(p), h!, res)
          .on("error", rej)
          .on("connect", function (this: { end(): void }) {
            this.end();
          }),
      );
    }
    const got = hits.length;
    for (const t of targets) {
      const r = await sandboxed(CURL, ["-sS", "--max-time", "5", "--noproxy", "*", `http://${t}/`]);
      assert.equal(r.code, 7, `${t}: curl exit ${r.code} ${r.stdout} ${r.stderr}`); // couldn't connect
      assert.doesNotMatch(r.stdout, /host server/);
    }
    // Node too, and through the proxy's port to anything else on loopback.
    const r = await sandboxed(NODE, [
      "-e",
      `const n=require("net");let left=2;for(const [h,p] of [["127.0.0.1",${loopPort}],["127.0.0.1",${loopPort === PORT ? PORT + 1 : loopPort}]]){const s=n.connect(p,h);s.on("connect",()=>{console.log("CONNECTED");process.exit(1)});s.on("error",e=>{console.log(e.code);if(--left===0)process.exit(0)})}`,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ECONNREFUSED/);
    assert.equal(hits.length, got, "no connection reached the host's servers");
  });
});

describe("bwrap sandbox: filesystem", { skip }, () => {
  test("vault directories, other runs and credential stores are hidden; the run's directory is readable", async () => {
    const probe = `for p in "$@"; do
      if [ -d "$p" ]; then echo "$p: DIR[$(ls -A "$p" 2>&1 | tr '\\n' ' ')]";
      elif c=$(cat "$p" 2>/dev/null) && [ -n "$c" ]; then echo "$p: READ $c";
      else echo "$p: HIDDEN"; fi
    done`;
    const a = fx.paths;
    const hiddenFiles = [
      a.vaultFile,
      join(a.runtimeDir, "github", "token"),
      join(a.runsDir, "run-0", "token"),
      join(fx.home, ".aws", "credentials"),
      join(base, "aws-real", "credentials"),
      join(fx.home, ".ssh", "id_ed25519"),
      join(fx.home, ".netrc"),
      join(fx.home, "secrets", "github", "token"),
      join(fx.cwd, ".private", "key"),
      join(fx.cwd, ".env"),
    ];
    const emptyDirs = [
      a.home,
      a.runtimeDir,
      join(fx.home, ".ssh"),
      join(base, "aws-real"),
      join(fx.cwd, ".private"),
    ];
    const visible = [join(fx.runDir, "ca.pem"), join(fx.home, "notes.txt"), join(fx.cwd, "README")];
    // Outside the sandbox every one of them is readable: the test can fail.
    for (const f of [...hiddenFiles, ...visible]) readFileSync(f);
    const r = await sandboxed("/bin/sh", ["-c", probe, "probe", ...hiddenFiles, ...emptyDirs, ...visible]);
    assert.equal(r.code, 0, r.stderr);
    const lines = new Map(
      r.stdout
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)] as const),
    );
    for (const f of hiddenFiles) assert.equal(lines.get(f), "HIDDEN", f);
    for (const d of emptyDirs) assert.equal(lines.get(d), "DIR[]", d);
    assert.equal(lines.get(join(fx.runDir, "ca.pem")), "READ RUN CA");
    assert.equal(lines.get(join(fx.home, "notes.txt")), "READ visible");
    assert.equal(lines.get(join(fx.cwd, "README")), "READ project readme");
    // Nothing of the runs directory but this run.
    const ls = await sandboxed("/bin/ls", ["-A", a.runsDir]);
    assert.equal(ls.stdout, "run-1\n");
  });

  test("the working directory is writable and writes land on the host; the rest is read-only", async () => {
    const tmpName = `enclave-sbx-marker-${process.pid}`;
    const script = `set -u
      echo written > "$1/out.txt" && echo cwd-ok
      echo x > "$2/planted" 2>/dev/null && echo home-WRITABLE || echo home-ro
      echo x > "$3/planted" 2>/dev/null && echo hidden-WRITABLE || echo hidden-ro
      echo x > "/tmp/$4" && echo tmp-ok
      echo x > "$5/planted" 2>/dev/null && echo rundir-WRITABLE || echo rundir-ro`;
    const r = await sandboxed("/bin/sh", [
      "-c",
      script,
      "w",
      fx.cwd,
      fx.home,
      join(fx.home, ".ssh"),
      tmpName,
      fx.runDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "cwd-ok\nhome-ro\nhidden-ro\ntmp-ok\nrundir-ro\n");
    assert.equal(readFileSync(join(fx.cwd, "out.txt"), "utf8"), "written\n");
    assert.ok(!existsSync(join(fx.home, "planted")));
    assert.ok(!existsSync(join(fx.home, ".ssh", "planted")));
    assert.ok(!existsSync(join("/tmp", tmpName)), "the sandbox's /tmp is its own");
  });

  test("no capabilities, and its own pid namespace: the host's processes are out of sight", async () => {
    const r = await sandboxed("/bin/sh", [
      "-c",
      'grep CapEff /proc/self/status; ls /proc | grep -c "^[0-9]"; [ -e "/proc/$1" ] && echo SEES-HOST || echo no-host',
      "p",
      String(process.pid),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [caps, count, host] = r.stdout.trim().split("\n");
    assert.match(caps!, /^CapEff:\s+0+$/);
    assert.ok(Number(count) < 10, `${count} processes visible`);
    assert.equal(host, "no-host");
  });

  test("extra writable paths", async () => {
    const extra = join(base, "cache");
    mkdirSync(extra);
    const r = await sandboxed("/bin/sh", ["-c", 'echo c > "$1/f"', "w", extra], { writable: [extra] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(extra, "f"), "utf8"), "c\n");
  });
});

describe("bwrap sandbox: the command as the caller started it", { skip }, () => {
  test("exit codes pass through; a missing command is 127", async () => {
    assert.equal((await sandboxed("/bin/sh", ["-c", "exit 7"])).code, 7);
    assert.equal((await sandboxed("/bin/sh", ["-c", "exit 0"])).code, 0);
    const missing = await sandboxed("no-such-command-xyz", []);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /no-such-command-xyz/);
  });

  test("argv with spaces, quotes, $, newlines, empty strings and dashes arrives intact", async () => {
    const args = [
      "a b",
      "'single'",
      '"double"',
      "$HOME `id` $(id)",
      "line1\nline2",
      "",
      "--",
      "-x",
      "*",
      "\\",
    ];
    const r = await sandboxed(NODE, [
      "-e",
      "console.log(JSON.stringify(process.argv.slice(1)))",
      "--",
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), args);
  });

  test("a command whose name holds '=' is run, not taken for an assignment", async () => {
    const tool = join(fx.cwd, "k=v");
    writeFileSync(tool, '#!/bin/sh\necho "ran with $1"\n');
    chmodSync(tool, 0o755);
    const r = await sandboxed("./k=v", ["arg"]);
    assert.equal(r.stdout, "ran with arg\n", r.stderr);
  });

  test("the environment arrives as given (values with newlines and quotes, nothing of the host's)", async () => {
    const env = { PATH: process.env.PATH!, HOME: fx.home, ODD: "a\nb 'c' \"d\" $e", EMPTY: "" };
    const r = await sandboxed(NODE, ["-e", "console.log(JSON.stringify(process.env))"], { env });
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as Record<string, string>;
    assert.equal(seen.ODD, env.ODD);
    assert.equal(seen.EMPTY, "");
    assert.equal(seen.HOME, fx.home);
    const extra = Object.keys(seen).filter((k) => !(k in env));
    assert.ok(
      extra.every((k) => k === "PWD" || k === "SHLVL" || k === "_"),
      `unexpected: ${extra}`,
    );
  });

  test("stdin reaches the command", async () => {
    const r = await sandboxed("/bin/cat", [], undefined, { input: "piped in\n" });
    assert.equal(r.stdout, "piped in\n");
  });

  for (const [sig, code] of [
    ["SIGTERM", 42],
    ["SIGINT", 43],
    ["SIGHUP", 44],
  ] as const) {
    test(`${sig} sent to the spawned process reaches the command (it traps it and exits ${code})`, async () => {
      const name = sig.slice(3);
      let sent = false;
      const r = await sandboxed(
        "/bin/sh",
        ["-c", `trap 'echo got ${name}; exit ${code}' ${name}; echo ready; while :; do sleep 0.05; done`],
        undefined,
        {
          // Its own session: no controlling terminal, whatever runs the tests.
          detached: true,
          onOutput: (out, child) => {
            if (!sent && out.includes("ready")) {
              sent = true;
              child.kill(sig);
            }
          },
        },
      );
      assert.equal(r.code, code, r.stdout + r.stderr);
      assert.equal(r.stdout, `ready\ngot ${name}\n`);
    });
  }

  test("a command killed by a signal exits 128+N", async () => {
    let sent = false;
    const r = await sandboxed("/bin/sh", ["-c", "echo ready; exec sleep 30"], undefined, {
      detached: true,
      onOutput: (out, child) => {
        if (!sent && out.includes("ready")) {
          sent = true;
          child.kill("SIGTERM");
        }
      },
    });
    assert.equal(r.code, 143);
  });

  test("TIOCSTI is refused (EPERM) inside, though the same call is only ENOTTY outside", {
    skip:
      !findExecutable("perl") || !["x64", "arm64"].includes(process.arch) ? "needs perl on x64/arm64" : false,
  }, async () => {
    const nr = process.arch === "x64" ? 16 : 29;
    const code = `my $c = "x"; syscall(${nr}, 0, 0x5412, $c); print $!+0, "\\n"; syscall(${nr}, 0, 0x5413, $c); print $!+0, "\\n";`;
    const outside = await runPlan(planSandbox("none", request("perl", ["-e", code])));
    assert.equal(outside.stdout, "25\n25\n"); // ENOTTY twice: stdin is a pipe
    const inside = await sandboxed("perl", ["-e", code]);
    assert.equal(inside.stdout, "1\n25\n"); // TIOCSTI: EPERM; TIOCGWINSZ still reaches the kernel
  });
});

describe("bwrap sandbox on a terminal", {
  skip: skip || (!findExecutable("script") && "needs script(1)"),
}, () => {
  const launcher = join(base, "launcher.mjs");
  before(() => {
    // What `enclave run` does: spawn the plan with the terminal inherited, forward signals
    // (here: every one, Ctrl-C included, the worst case), exit with the child's code.
    writeFileSync(
      launcher,
      `import { spawn } from "node:child_process";
       import { readFileSync } from "node:fs";
       const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
       const c = spawn(plan.file, plan.args, { env: plan.env, cwd: plan.cwd, stdio: "inherit" });
       for (const s of ["SIGINT", "SIGTERM", "SIGQUIT", "SIGHUP"]) process.on(s, () => c.kill(s));
       c.on("exit", (code, sig) => process.exit(code ?? 128));`,
    );
  });

  function onTerminal(
    plan: SpawnPlan,
    keys: [RegExp, string][],
  ): Promise<{ code: number | null; screen: string }> {
    const planFile = join(base, `plan-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(planFile, JSON.stringify(plan));
    const child = spawn("script", ["-qefc", `exec ${NODE} ${launcher} ${planFile}`, "/dev/null"], {
      env: { PATH: process.env.PATH, TERM: "dumb" },
    });
    let screen = "";
    let next = 0;
    child.stdout.on("data", (d: Buffer) => {
      screen += d.toString();
      const k = keys[next];
      if (k?.[0].test(screen)) {
        next++;
        setTimeout(() => child.stdin.write(k[1]), 100);
      }
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    return new Promise((res) =>
      child.on("close", (code) => {
        clearTimeout(timer);
        res({ code, screen });
      }),
    );
  }

  test("Ctrl-C reaches the command exactly once; it reads the terminal and /dev/tty works", async () => {
    const script = `n=0
      trap 'n=$((n+1)); echo "INT $n"' INT
      echo via-dev-tty > /dev/tty
      printf 'name? '; read x; echo "hello $x"
      echo ready
      i=0; while [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done
      echo "count $n"; exit $((40 + n))`;
    const r = await onTerminal(planSandbox("bwrap", request("/bin/sh", ["-c", script])), [
      [/name\? /, "world\r"],
      [/ready/, "\x03"],
    ]);
    assert.match(r.screen, /via-dev-tty/);
    assert.match(r.screen, /hello world/);
    assert.match(r.screen, /INT 1\r?\n/);
    assert.doesNotMatch(r.screen, /INT 2/);
    assert.match(r.screen, /count 1/);
    assert.equal(r.code, 41);
  });

  test("a command that does not trap Ctrl-C ends with 130, and the sandbox with it", async () => {
    const r = await onTerminal(
      planSandbox("bwrap", request("/bin/sh", ["-c", "echo ready; sleep 30; echo not-reached"])),
      [[/ready/, "\x03"]],
    );
    assert.equal(r.code, 130);
    assert.doesNotMatch(r.screen, /not-reached/);
  });
});

describe("bwrap sandbox dies with enclave", { skip: skip || (!tools.setpriv && "needs setpriv(1)") }, () => {
  test("SIGKILL of the process that spawned the plan ends the command", async () => {
    const beat = join(fx.cwd, "beat");
    const plan = planSandbox(
      "bwrap",
      request("/bin/sh", ["-c", `while :; do date +%s%N > "${beat}"; sleep 0.05; done`]),
    );
    const planFile = join(base, "plan-kill.json");
    writeFileSync(planFile, JSON.stringify(plan));
    const parent = spawn(
      NODE,
      [
        "-e",
        `const p=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));require("child_process").spawn(p.file,p.args,{env:p.env,cwd:p.cwd,stdio:"ignore"});setInterval(()=>{},1000)`,
        planFile,
      ],
      { stdio: "ignore" },
    );
    const deadline = Date.now() + 10_000;
    while (!existsSync(beat) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(beat), "the command started");
    parent.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    const m1 = statSync(beat).mtimeMs;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(statSync(beat).mtimeMs, m1, "the command stopped beating");
  });
});
