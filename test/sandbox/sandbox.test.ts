/**
 * Planning without running: `none` and `auto` without bubblewrap, `bwrap` when it is missing
 * (PATH without it), the default hidden paths, refused requests, and the TIOCSTI filter's bytes.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { resolvePaths } from "../../src/config/paths.js";
import { EnclaveError } from "../../src/errors.js";
import {
  bwrapAvailable,
  defaultHiddenPaths,
  HOME_CREDENTIALS,
  planSandbox,
  type SandboxRequest,
} from "../../src/sandbox/sandbox.js";
import { printfEscaped, TIOCLINUX, TIOCSTI, tiocstiFilter } from "../../src/sandbox/seccomp.js";
import {
  BASE_MOUNTS,
  findExecutable,
  NAMESPACE_FLAGS,
  probeArgs,
  sandboxTools,
} from "../../src/sandbox/tools.js";

const scratch = mkdtempSync(join("/dev/shm", "enclave-sbplan-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

function request(over: Partial<SandboxRequest> = {}): SandboxRequest {
  const runDir = join(scratch, "run");
  mkdirSync(runDir, { recursive: true });
  return {
    command: "my tool",
    args: ["a b", "$HOME", "x\ny", ""],
    env: { PATH: "/usr/bin:/bin", ONLY: "this" },
    cwd: scratch,
    proxySocket: join(runDir, "proxy.sock"),
    proxyPort: 31_000,
    runDir,
    hide: [],
    ...over,
  };
}

/** Run fn with PATH set to a folder holding only the given programs (symlinks to the real ones). */
function withPath<T>(programs: string[], fn: () => T): T {
  const dir = mkdtempSync(join(scratch, "path-"));
  for (const p of programs) {
    const real = findExecutable(p);
    if (real) symlinkSync(real, join(dir, p));
  }
  const saved = process.env.PATH;
  process.env.PATH = dir;
  try {
    return fn();
  } finally {
    process.env.PATH = saved;
  }
}

describe("planSandbox none", () => {
  test("runs the command directly, argv and env untouched, with a warning", () => {
    const req = request();
    const plan = planSandbox("none", req);
    assert.equal(plan.kind, "none");
    assert.equal(plan.file, "my tool");
    assert.deepEqual(plan.args, ["a b", "$HOME", "x\ny", ""]);
    assert.deepEqual(plan.env, { PATH: "/usr/bin:/bin", ONLY: "this" });
    assert.equal(plan.cwd, scratch);
    assert.equal(plan.warnings.length, 1);
    const w = plan.warnings[0]!;
    assert.match(w, /--sandbox none/);
    assert.match(w, /without a sandbox/);
    assert.match(w, /read the unlocked vault/);
    assert.match(w, /bypassing the proxy/);
  });
});

describe("bubblewrap missing from PATH", () => {
  test("--sandbox bwrap fails and says what to install, or to use --sandbox none", () => {
    withPath(["socat", "env"], () => {
      assert.equal(bwrapAvailable(), false);
      assert.throws(
        () => planSandbox("bwrap", request()),
        (e: unknown) =>
          e instanceof EnclaveError &&
          e.exitCode === 1 &&
          /bwrap \(bubblewrap\) not found on PATH/.test(e.message) &&
          e.message.includes("apt-get install bubblewrap socat") &&
          e.message.includes("--sandbox none"),
      );
    });
  });

  test("socat missing is named too", () => {
    withPath(["bwrap"], () => {
      assert.throws(() => planSandbox("bwrap", request()), /socat not found on PATH/);
    });
  });

  test("--sandbox auto falls back to a direct run, warning why and what to install", () => {
    withPath(["socat"], () => {
      const plan = planSandbox("auto", request());
      assert.equal(plan.kind, "none");
      assert.equal(plan.file, "my tool");
      assert.equal(plan.warnings.length, 1);
      assert.match(plan.warnings[0]!, /bubblewrap is not usable \(bwrap \(bubblewrap\) not found on PATH\)/);
      assert.match(plan.warnings[0]!, /read the unlocked vault/);
      assert.match(plan.warnings[0]!, /apt-get install bubblewrap socat/);
    });
  });

  test("availability is worked out again for another PATH", () => {
    const here = sandboxTools();
    withPath([], () => assert.equal(sandboxTools().ok, false));
    assert.equal(sandboxTools(), here);
  });
});

describe("defaultHiddenPaths", () => {
  test("the vault's directories, the other runs, credential stores and escape sockets", () => {
    const paths = resolvePaths({ ENCLAVE_HOME: "/h/.enclave", ENCLAVE_RUNTIME_DIR: "/dev/shm/enclave-7" });
    const hidden = defaultHiddenPaths(paths, "/home/u", { XDG_RUNTIME_DIR: "/run/user/7" });
    for (const p of [
      "/h/.enclave",
      "/dev/shm/enclave-7",
      "/dev/shm/enclave-7.runs",
      "/home/u/.aws",
      "/home/u/.ssh",
      "/home/u/.config/gh",
      "/home/u/.docker",
      "/home/u/.netrc",
      "/home/u/.git-credentials",
      "/home/u/.kube",
      "/home/u/.gnupg",
      "/run/user/7",
      "/run/docker.sock",
      "/run/dbus",
    ])
      assert.ok(hidden.includes(p), p);
    assert.equal(hidden.filter((p) => p.startsWith("/home/u/")).length, HOME_CREDENTIALS.length);
    assert.ok(!defaultHiddenPaths(paths, "/home/u", {}).some((p) => p.startsWith("/run/user/7")));
  });
});

describe("planSandbox bwrap refuses", { skip: !bwrapAvailable() && "bwrap is not usable here" }, () => {
  test("a working directory inside a hidden path", () => {
    const secret = join(scratch, "secret");
    mkdirSync(join(secret, "proj"), { recursive: true });
    const req = request({ cwd: join(secret, "proj"), hide: [secret] });
    assert.throws(
      () => planSandbox("bwrap", req),
      /working directory .* is inside .*secret, which the sandbox hides/,
    );
  });

  test("a relative path to hide, a low port, / as working directory", () => {
    assert.throws(() => planSandbox("bwrap", request({ hide: ["relative/dir"] })), /must be absolute/);
    assert.throws(() => planSandbox("bwrap", request({ proxyPort: 80 })), /1024 to 65535/);
    assert.throws(() => planSandbox("bwrap", request({ cwd: "/" })), /not from \//);
    assert.throws(() => planSandbox("bwrap", request({ runDir: join(scratch, "nope") })), /does not exist/);
  });

  test("auto picks bwrap when it works; the plan keeps the caller's env and cwd", () => {
    const plan = planSandbox("auto", request());
    assert.equal(plan.kind, "bwrap");
    assert.deepEqual(plan.env, { PATH: "/usr/bin:/bin", ONLY: "this" });
    assert.equal(plan.cwd, scratch);
    // The command's argv is passed as the last arguments, as is (never re-quoted).
    assert.deepEqual(plan.args.slice(-5), ["my tool", "a b", "$HOME", "x\ny", ""]);
  });
});

describe("TIOCSTI filter", () => {
  test("classic BPF for x64 and arm64, none for unknown architectures", () => {
    for (const arch of ["x64", "arm64"]) {
      const f = tiocstiFilter(arch)!;
      assert.equal(f.length % 8, 0);
      const ks = new Set<number>();
      for (let o = 0; o < f.length; o += 8) ks.add(f.readUInt32LE(o + 4));
      assert.ok(ks.has(TIOCSTI) && ks.has(TIOCLINUX));
      assert.ok(ks.has(0x00050001), "ERRNO(EPERM)");
    }
    assert.equal(tiocstiFilter("riscv64"), undefined);
  });

  test("printf escapes: three octal digits per byte, nothing else", () => {
    const s = printfEscaped(Buffer.from([0, 37, 92, 255, 10]));
    assert.equal(s, "\\000\\045\\134\\377\\012");
  });
});

describe("the availability probe", () => {
  test("mounts what a run mounts, in the run's namespaces", () => {
    const run = [...NAMESPACE_FLAGS, ...BASE_MOUNTS];
    const contains = (args: string[]) => args.some((_, i) => run.every((a, j) => args[i + j] === a));
    for (const seccomp of [true, false]) {
      const probe = probeArgs(seccomp);
      assert.ok(contains(probe), `probe args: ${probe.join(" ")}`);
      assert.deepEqual(probe.slice(-4), ["--", "/bin/sh", "-c", "exit 0"]);
      assert.equal(probe.includes("--seccomp"), seccomp);
    }
    assert.ok(BASE_MOUNTS.join(" ").includes("--tmpfs /dev/shm"));
    if (bwrapAvailable()) assert.ok(contains(planSandbox("bwrap", request()).args));
  });
});
