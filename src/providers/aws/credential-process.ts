/**
 * The `credential_process` side of a run's AWS grant. The AWS CLI and SDKs run the profile's
 * `credential_process` command whenever they need credentials; this is that command:
 *
 *   enclave _aws-credentials --url URL --token-file FILE
 *   node dist/src/providers/aws/credential-process.js --url URL --token-file FILE   (same, faster)
 *
 * It GETs the run's credential endpoint with the per-run token read from FILE (in the run's RAM
 * directory, 0600 — a file rather than an environment variable or argument, which every process
 * in the run could read from /proc) and prints the credential_process JSON:
 *   {"Version":1,"AccessKeyId":…,"SecretAccessKey":…,"SessionToken":…,"Expiration":…}
 *
 * It is spawned once per refresh, so it stays small: node:http and node:fs only — no AWS SDK, no
 * CLI framework, nothing from enclave but errors, Buffer wiping and the privacy check. Exit
 * codes: 0 printed credentials, 1 the endpoint refused or failed, 2 bad arguments or token file.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { fileURLToPath } from "node:url";
import { EnclaveError, UsageError } from "../../errors.js";
import { privacyProblem } from "../../platform/private-dir.js";
import { concatAndWipe } from "../../secure/buffers.js";

export interface CredentialProcessArgs {
  url: string;
  tokenFile: string;
}

interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** This module's own file: what a generated profile's `credential_process` runs with node. */
export const CREDENTIAL_PROCESS_SCRIPT = fileURLToPath(import.meta.url);

const TIMEOUT_MS = 20_000;
const MAX_TOKEN_BYTES = 4096;
const MAX_BODY_BYTES = 64 * 1024;

/** `--url URL --token-file FILE` (also `--url=URL`); anything else is a usage error. */
export function parseCredentialProcessArgs(args: string[]): CredentialProcessArgs {
  const out: Partial<CredentialProcessArgs> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf("=");
    const [flag, inline] = a.startsWith("--") && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (flag === "--url") out.url = value;
    else if (flag === "--token-file") out.tokenFile = value;
    else throw new UsageError(`unknown option ${flag} (usage: --url URL --token-file FILE)`);
  }
  if (!out.url || !out.tokenFile) throw new UsageError("usage: --url URL --token-file FILE");
  return out as CredentialProcessArgs;
}

/** Plain HTTP only to this machine: the token must never travel to another host in clear. */
function checkUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url "${text}" is not a URL`);
  }
  const loopback =
    url.hostname === "localhost" || url.hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(url.hostname);
  if (url.protocol === "https:" || (url.protocol === "http:" && loopback)) return url;
  throw new UsageError(`--url ${url.origin}: plain http is allowed only to a loopback address`);
}

/** The token file must be ours, a regular file and private; its one line is the token. */
function readToken(file: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new UsageError(`cannot open the token file ${file} (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    const problem = privacyProblem(fstatSync(fd), "file");
    if (problem) throw new UsageError(`the token file ${file} ${problem}; it must be this user's, mode 0600`);
    const buf = Buffer.alloc(MAX_TOKEN_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_TOKEN_BYTES) {
      buf.fill(0);
      throw new UsageError(`the token file ${file} is too large to hold a token`);
    }
    let end = n;
    while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
    const token = Buffer.from(buf.subarray(0, end));
    buf.fill(0);
    if (token.length === 0 || token.includes(0x0a) || token.includes(0x0d)) {
      token.fill(0);
      throw new UsageError(`the token file ${file} does not hold a one-line token`);
    }
    return token;
  } finally {
    closeSync(fd);
  }
}

function fetchCredentials(url: URL, token: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request(
      url,
      {
        method: "GET",
        // No agent: straight to the run's server, never through HTTP(S)_PROXY, no keep-alive.
        agent: false,
        // Node wants a string header value; the Buffer is wiped, the string is left to the GC.
        headers: {
          authorization: token.toString("utf8"),
          accept: "application/json",
          "user-agent": "enclave-credential-process",
        },
        timeout: TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new Error("the answer is too large"));
            return;
          }
          chunks.push(c);
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: concatAndWipe(chunks) });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on("error", reject);
    req.end();
  });
}

function describeFailure(status: number, body: Buffer): string {
  let message = "";
  try {
    const j = JSON.parse(body.toString("utf8")) as { Message?: unknown };
    if (typeof j.Message === "string") message = j.Message.slice(0, 300);
  } catch {
    // not JSON: say nothing about it
  }
  if (status === 401)
    return "the run's credential endpoint refused the token (401): is this the run's token file?";
  return `the run's credential endpoint answered ${status}${message ? `: ${message}` : ""}`;
}

/** What the SDKs and the CLI expect from a credential_process (Version 1). */
function toProcessJson(body: Buffer): string {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new EnclaveError("the run's credential endpoint did not answer JSON");
  }
  const { AccessKeyId, SecretAccessKey, Token, Expiration } = j;
  if (
    typeof AccessKeyId !== "string" ||
    typeof SecretAccessKey !== "string" ||
    typeof Token !== "string" ||
    typeof Expiration !== "string"
  )
    throw new EnclaveError("the run's credential endpoint answered without complete credentials");
  return `${JSON.stringify({ Version: 1, AccessKeyId, SecretAccessKey, SessionToken: Token, Expiration })}\n`;
}

export async function credentialProcessMain(
  argv: CredentialProcessArgs,
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let token: Buffer | undefined;
  try {
    const url = checkUrl(argv.url);
    token = readToken(argv.tokenFile);
    let r: { status: number; body: Buffer };
    try {
      r = await fetchCredentials(url, token);
    } catch (e) {
      throw new EnclaveError(
        `cannot reach the run's credential endpoint ${url.origin}: ${(e as Error).message}`,
      );
    } finally {
      token.fill(0);
    }
    try {
      if (r.status !== 200) throw new EnclaveError(describeFailure(r.status, r.body));
      io.stdout.write(toProcessJson(r.body));
    } finally {
      r.body.fill(0);
    }
    return 0;
  } catch (e) {
    token?.fill(0);
    if (!(e instanceof EnclaveError)) throw e;
    io.stderr.write(`enclave: ${e.message}\n`);
    return e.exitCode;
  }
}

/** Entry point when run directly: `node credential-process.js --url URL --token-file FILE`. */
async function runAsScript(): Promise<void> {
  try {
    process.exitCode = await credentialProcessMain(parseCredentialProcessArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`enclave: ${(e as Error).message}\n`);
    process.exitCode = e instanceof EnclaveError ? e.exitCode : 1;
  }
}

function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(CREDENTIAL_PROCESS_SCRIPT);
  } catch {
    return false;
  }
}

if (isMain()) await runAsScript();
