/**
 * `enclave run`: the run lifecycle, grants → broker → sandbox → child → teardown.
 *
 * The broker is one local server (the proxy, plus the credential endpoints) living exactly as
 * long as the child. Everything the run makes — the CA, the token, rendered credentials — is in
 * this process's memory or the run's RAM directory, and is wiped or removed when the child ends,
 * however it ends.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { homedir, constants as osConstants } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AuditWriter } from "../audit/writer.js";
import { loadConfig } from "../config/config.js";
import { caBundle } from "../platform/system-roots.js";
import { RunCA } from "../proxy/ca.js";
import { domainPattern, parseHostPattern } from "../proxy/host-pattern.js";
import type { NetworkMode } from "../proxy/policy.js";
import { EnclaveProxy } from "../proxy/proxy-server.js";
import { Scrubber } from "../proxy/scrub.js";
import { bwrapAvailable, defaultHiddenPaths, planSandbox, type SandboxMode } from "../sandbox/sandbox.js";
import { wipe } from "../secure/buffers.js";
import { fingerprint } from "../secure/fingerprint.js";
import type { VaultService } from "../vault/service.js";
import { prepareAwsAccess } from "./aws-access.js";
import { buildChildEnv } from "./child-env.js";
import { grantMaterial } from "./grant-material.js";
import { createRunDir } from "./run-dir.js";
import { newRunId } from "./run-id.js";

/** enclave's own installation (dist/ and node_modules/): the child runs its credential_process helper. */
const ENCLAVE_INSTALL = fileURLToPath(new URL("../../..", import.meta.url));

export interface RunOptions {
  command: string;
  args: string[];
  grants: string[];
  allow: string[];
  /** Default: strict when any grant or --allow is given, permissive otherwise. */
  network?: NetworkMode;
  sandbox: SandboxMode;
  cleanEnv: boolean;
  /** PEM text of extra upstream roots (--upstream-ca). */
  upstreamCAs: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Warnings and notices (the CLI prints them on stderr). */
  notice: (m: string) => void;
}

export interface RunResult {
  runId: string;
  exitCode: number;
}

/** Extra local endpoints on the broker (the AWS credential endpoint plugs in here). */
export interface LocalEndpoint {
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  close(): void;
}

export async function runCommand(vault: VaultService, o: RunOptions): Promise<RunResult> {
  const allow = o.allow.map(parseHostPattern);
  const network: NetworkMode =
    o.network ?? (o.grants.length > 0 || allow.length > 0 ? "strict" : "permissive");
  const config = loadConfig(vault.paths.configFile);
  // Grants and values are read once, at start; the session may expire during a long run.
  const { material, fingerprintKey } = await vault.inspect((c) => ({
    material: grantMaterial(c, o.grants),
    fingerprintKey: Buffer.from(c.fingerprintKey),
  }));
  const runId = newRunId();
  const token = Buffer.from(randomBytes(32).toString("hex"));
  const audit = new AuditWriter(vault.paths.auditFile, {
    onError: (e) => o.notice(`warning: the audit log could not be written (${e.message}); retrying`),
  });
  const started = Date.now();
  let proxy: EnclaveProxy | undefined;
  let runDir: string | undefined;
  let startedRun = false;
  let childExit: ChildExit | undefined;
  const endpoints: LocalEndpoint[] = [];
  try {
    runDir = createRunDir(vault.paths.runsDir, runId, o.notice);
    const ca = await RunCA.create(runId);
    const bundlePath = join(runDir, "ca.pem");
    writeFileSync(bundlePath, caBundle(ca.certificatePem, o.upstreamCAs), { mode: 0o600 });

    proxy = new EnclaveProxy({
      runId,
      policy: { network, grants: material.proxyGrants, allow },
      token,
      ca,
      scrubber: new Scrubber(material.replacements),
      upstreamCAs: o.upstreamCAs,
      audit: (e) => audit.append(e),
      localPort: 0,
      local: (req, res) => endpoints.some((e) => e.handle(req, res)),
    });
    const socketPath = join(runDir, "proxy.sock");
    await proxy.listen({ path: socketPath });
    // Without a sandbox the child reaches the proxy over loopback TCP; inside bwrap, a socat
    // bridge serves the same port in the child's own network namespace.
    const kind = o.sandbox === "none" || (o.sandbox === "auto" && !bwrapAvailable()) ? "none" : "bwrap";
    const port = await choosePort(proxy, kind);
    proxy.setLocalPort(port);
    const proxyUrl = `http://enclave:${token.toString("latin1")}@127.0.0.1:${port}`;
    const aws = await prepareAwsAccess({
      grants: material.aws,
      runId,
      runDir,
      port,
      env: o.env,
      audit: (e) => audit.append(e),
      fingerprint: (id) => fingerprint(fingerprintKey, Buffer.from(id)),
      notice: o.notice,
    });
    if (aws) {
      endpoints.push(aws.endpoint);
      // The session is for calling AWS: its endpoints are allowed (tunnelled, not terminated).
      allow.push(...awsDomains(material.aws.map((a) => a.grant.role)).map(domainPattern));
    }

    const { env, removed } = buildChildEnv({
      inherited: o.env,
      cleanEnv: o.cleanEnv,
      proxyUrl,
      caBundle: bundlePath,
      extra: { ...material.env, ...aws?.env },
    });
    if (removed.length > 0)
      o.notice(
        `enclave: removed inherited credential variable(s) from the run: ${removed.join(", ")} (grant what the command needs instead)`,
      );
    if (material.floor.length > 0)
      o.notice(
        `enclave: grant(s) ${material.floor.join(", ")} put secret values in the command's environment (the floor of the credential ladder); prefer an http grant where the API allows it`,
      );
    const home = o.env.HOME ?? homedir();
    const expandHome = (p: string) => (p === "~" ? home : p.startsWith("~/") ? join(home, p.slice(2)) : p);
    // The mode as asked: `auto` without bubblewrap then warns why, and what to install.
    const plan = planSandbox(o.sandbox, {
      command: o.command,
      args: o.args,
      env,
      cwd: o.cwd,
      proxySocket: socketPath,
      proxyPort: port,
      runDir,
      hide: [...defaultHiddenPaths(vault.paths, home, o.env), ...(config.run?.hide ?? []).map(expandHome)],
      writable: (config.run?.writable ?? []).map(expandHome),
      readable: [ENCLAVE_INSTALL],
    });
    for (const w of plan.warnings) o.notice(`enclave: warning: ${w}`);

    startedRun = true;
    audit.append({
      type: "run.start",
      run: runId,
      command: basename(o.command),
      argc: o.args.length,
      grants: [...new Set(o.grants)],
      network,
      sandbox: plan.kind,
      allow: allow.map((p) => p.text),
      cwd: o.cwd,
    });
    for (const i of material.issued) audit.append({ type: "credential", run: runId, ...i });

    await aws?.warm();
    const exit = await spawnAndWait(plan, o.notice);
    childExit = exit;
    return { runId, exitCode: exit.exitCode };
  } finally {
    // The proxy first: it records the exchanges still open, which belong before the run's end.
    for (const e of endpoints) e.close();
    await proxy?.close();
    // Every run.start gets its run.end, also when the run failed before the command started.
    if (startedRun)
      audit.append({
        type: "run.end",
        run: runId,
        exitCode: childExit?.code ?? null,
        signal: childExit?.signal ?? null,
        durationMs: Date.now() - started,
        requests: proxy?.counts.requests ?? 0,
        denied: proxy?.counts.denied ?? 0,
      });
    material.wipe();
    wipe(fingerprintKey);
    wipe(token);
    if (runDir) rmSync(runDir, { recursive: true, force: true });
    // The command's exit code is the result; a log that cannot be written is reported, not fatal.
    await audit
      .close()
      .catch((e: Error) => o.notice(`enclave: warning: the audit log was not fully written: ${e.message}`));
  }
}

async function choosePort(proxy: EnclaveProxy, kind: "bwrap" | "none"): Promise<number> {
  if (kind === "none") return (await proxy.listen({ port: 0 }))!;
  // Inside bwrap the port is the child's own namespace: any free-looking port will do.
  return 20_000 + Math.floor(Math.random() * 40_000);
}

interface ChildExit {
  code: number | null;
  signal: string | null;
  /** What `enclave run` exits with: the child's code, or 128 + the signal number. */
  exitCode: number;
}

const FORWARDED: NodeJS.Signals[] = [
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGINT",
  "SIGWINCH",
];

function spawnAndWait(
  plan: { file: string; args: string[]; env: Record<string, string>; cwd: string },
  notice: (m: string) => void,
): Promise<ChildExit> {
  return new Promise((resolve) => {
    const child = spawn(plan.file, plan.args, { env: plan.env, cwd: plan.cwd, stdio: "inherit" });
    const forward = (sig: NodeJS.Signals) => {
      // On a terminal, Ctrl-C already reached the child (same process group): sending it
      // again would count twice for tools that quit on a second interrupt.
      if (sig === "SIGINT" && process.stdin.isTTY) return;
      child.kill(sig);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const stop = () => {
      for (const s of FORWARDED) process.off(s, forward);
    };
    child.once("error", (e: NodeJS.ErrnoException) => {
      stop();
      notice(
        e.code === "ENOENT"
          ? `enclave: command not found: ${plan.file}`
          : `enclave: could not start the command (${e.code ?? e.message})`,
      );
      resolve({ code: null, signal: null, exitCode: e.code === "ENOENT" ? 127 : 126 });
    });
    child.once("exit", (code, signal) => {
      stop();
      const num = signal ? ((osConstants.signals as Record<string, number>)[signal] ?? 0) : 0;
      resolve({ code, signal, exitCode: code ?? 128 + num });
    });
  });
}

/** The API domains of the partitions the roles live in. */
function awsDomains(roles: string[]): string[] {
  const out = new Set<string>();
  for (const r of roles) {
    if (r.startsWith("arn:aws-cn:")) out.add("amazonaws.com.cn");
    else out.add("amazonaws.com");
    if (r.startsWith("arn:aws:")) out.add("api.aws");
  }
  return [...out];
}
