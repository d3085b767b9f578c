/**
 * The container-credentials endpoint, mounted by the run on its local server (the proxy's), e.g.
 * at `GET /aws/<grant>/credentials`. The AWS SDKs and CLI call it through
 * `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `Authorization: <AWS_CONTAINER_AUTHORIZATION_TOKEN>`,
 * and enclave's own `credential_process` helper calls it the same way.
 *
 * - 200 `{AccessKeyId, SecretAccessKey, Token, Expiration}` (the ECS/EKS format), `no-store`.
 * - A missing or wrong token: 401 with a generic body; the reason goes to `audit`. The token is
 *   compared in constant time.
 * - Anything but GET: 405.
 * - The broker cannot get credentials: 502 with a message that tells the child the operator has
 *   the details, and the details (the broker's explanation) go to `audit`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { constantTimeEqual, wipe } from "../../secure/buffers.js";
import type { AwsSessionBroker } from "./session-broker.js";

export interface CredentialRequestAudit {
  ok: boolean;
  /** Why it was refused or failed (never a secret). */
  reason?: string;
  /** The HTTP status sent. */
  status?: number;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: object,
  extra: Record<string, string> = {},
): void {
  const buf = Buffer.from(JSON.stringify(body), "utf8");
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(buf.length),
    "cache-control": "no-store",
    ...extra,
  });
  // The body may hold the session's keys: overwrite our copy once the response is done with it
  // ("close" follows "finish", and also comes when the client went away first).
  res.once("close", () => wipe(buf));
  res.end(buf);
}

/** The Authorization header's value, which must be the run's token itself (no scheme). */
function presentedToken(req: IncomingMessage): Buffer | undefined {
  const h = req.headers.authorization;
  if (typeof h !== "string" || h.length === 0) return undefined;
  return Buffer.from(h, "utf8");
}

export async function handleCredentialRequest(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { broker: AwsSessionBroker; expectedToken: Buffer; audit: (e: CredentialRequestAudit) => void },
): Promise<void> {
  // The request body is never used; drain it so keep-alive connections stay usable.
  req.resume();
  if (req.method !== "GET") {
    opts.audit({ ok: false, reason: `method ${req.method} not allowed`, status: 405 });
    sendJson(res, 405, { Code: "MethodNotAllowed", Message: "use GET" }, { allow: "GET" });
    return;
  }
  const token = presentedToken(req);
  const ok = token !== undefined && constantTimeEqual(token, opts.expectedToken);
  wipe(token);
  if (!ok) {
    opts.audit({
      ok: false,
      reason: token === undefined ? "missing Authorization token" : "wrong Authorization token",
      status: 401,
    });
    sendJson(res, 401, { Code: "Unauthorized", Message: "not authorized" });
    return;
  }
  let creds: Awaited<ReturnType<AwsSessionBroker["get"]>>;
  try {
    creds = await opts.broker.get();
  } catch (e) {
    opts.audit({ ok: false, reason: `credentials unavailable: ${(e as Error).message}`, status: 502 });
    sendJson(res, 502, {
      Code: "CredentialsUnavailable",
      Message:
        "enclave could not obtain AWS credentials for this run; the operator's audit log has the reason",
    });
    return;
  }
  opts.audit({ ok: true, status: 200 });
  sendJson(res, 200, {
    AccessKeyId: creds.accessKeyId,
    SecretAccessKey: creds.secretAccessKey,
    Token: creds.sessionToken,
    Expiration: creds.expiration.toISOString(),
  });
}
