/**
 * The run's AWS session: one STS AssumeRole, cached, handed to every credential request of the
 * run, and replaced when less than 5 minutes remain. Concurrent requests share one in-flight
 * AssumeRole (single flight), so 1,000 requests cost one STS call per session.
 *
 * - Session name `enclave-<runId>` (STS's charset, at most 64 characters): CloudTrail shows it in
 *   every event the session signs (userIdentity.arn / principalId).
 * - SourceIdentity `enclave-<runId>` too, when the role's trust policy allows sts:SetSourceIdentity:
 *   unlike the session name it survives role chaining, so calls made from a role the child assumes
 *   later still carry the run. If STS refuses it, the broker retries once without it and stops
 *   asking for the rest of the run (one extra call, once). See docs/aws-credentials.md.
 * - If a refresh fails while the current session still has more than a minute left, the current
 *   session is served (and onError told); only an expired or missing session fails the request.
 *
 * Secrets: the secret key and session token are kept in Buffers and overwritten when the session
 * is replaced or the broker closed. The AWS SDK delivers them as strings, and get() returns
 * strings (the SDK, the HTTP response and JSON all need them): JavaScript strings are immutable and
 * cannot be wiped, they live until the garbage collector reuses their memory. What can be wiped is.
 */
import type { STSClient } from "@aws-sdk/client-sts";
import { EnclaveError } from "../../errors.js";
import { CREDENTIAL_REFRESH_WINDOW_MS } from "../../platform/aws-credentials.js";
import { wipe } from "../../secure/buffers.js";
import type { AwsGrantConfig } from "./grant.js";
import { AwsCredentialError, assumeRole, makeStsContext, type StsContext, sessionNameFor } from "./sts.js";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AwsIssueInfo {
  grant: string;
  role: string;
  runId: string;
  sessionName: string;
  sourceIdentity?: string;
  /** The assumed-role ARN STS returned. */
  assumedRoleArn?: string;
  /** ISO 8601, as STS gave it. */
  expiresAt: string;
  /** opts.fingerprint(accessKeyId), when given (e.g. an HMAC with the vault's fingerprint key). */
  fingerprint?: string;
}

export interface AwsSessionBrokerOptions {
  grantName: string;
  config: AwsGrantConfig;
  runId: string;
  /** The broker's clock (ms since the epoch); tests move it forward. Default Date.now. */
  now?: () => number;
  /** An STS client to use instead of one built from `env` (tests). The broker does not destroy it. */
  sts?: STSClient;
  /** Where base credentials, region and STS endpoint come from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Refresh when less than this remains. Default 5 minutes. */
  refreshWindowMs?: number;
  /** Called after every successful AssumeRole (for the audit log: never the keys). */
  onIssue?: (info: AwsIssueInfo) => void;
  /** Called with every STS failure (with the operator-facing explanation). */
  onError?: (e: Error) => void;
  /** Turns the session's access key id into an audit fingerprint. */
  fingerprint?: (accessKeyId: string) => string;
}

/** A session with less than this left is not served even when a refresh failed. */
const MIN_SERVE_MS = 60_000;

interface Session {
  accessKeyId: string;
  secret: Buffer;
  token: Buffer;
  /** As STS gave it (wall clock); what the child is told. */
  expiration: Date;
  /** The same instant on the broker's clock: issue time on `now()` + the lifetime STS granted. */
  expiresAt: number;
}

export class AwsSessionBroker {
  readonly #opts: AwsSessionBrokerOptions;
  readonly #now: () => number;
  readonly #window: number;
  readonly #sessionName: string;
  #ctx?: StsContext;
  #ownsClient = false;
  #session?: Session;
  #inflight?: Promise<Session>;
  /** False once STS refused a SourceIdentity for this role. */
  #sourceIdentityAllowed = true;
  #stsCalls = 0;
  #served = 0;
  #closed = false;

  constructor(opts: AwsSessionBrokerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#window = opts.refreshWindowMs ?? CREDENTIAL_REFRESH_WINDOW_MS;
    this.#sessionName = sessionNameFor(opts.runId);
  }

  /** `enclave-<runId>`, as STS and CloudTrail see it. */
  get sessionName(): string {
    return this.#sessionName;
  }

  /** Credentials with more than the refresh window left (or, if a refresh failed, more than a minute). */
  async get(): Promise<AwsCredentials> {
    this.#assertOpen();
    const s = this.#session;
    if (s && s.expiresAt - this.#now() > this.#window) return this.#serve(s);
    try {
      return this.#serve(await this.#refresh());
    } catch (e) {
      const cur = this.#session;
      if (!this.#closed && cur && cur.expiresAt - this.#now() > MIN_SERVE_MS) return this.#serve(cur);
      throw e;
    }
  }

  /**
   * stsCalls: AssumeRole requests the broker made (the SDK's own retries of a throttled or failed
   * request are not counted apart); served: get() calls answered with credentials.
   */
  stats(): { stsCalls: number; served: number } {
    return { stsCalls: this.#stsCalls, served: this.#served };
  }

  /** Wipe the cached session and release the STS client; get() fails from now on. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#session) wipeSession(this.#session);
    this.#session = undefined;
    if (this.#ownsClient) this.#ctx?.client.destroy();
  }

  #closedError(): EnclaveError {
    return new EnclaveError(`the AWS session broker of grant "${this.#opts.grantName}" is closed`);
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#closedError();
  }

  #serve(s: Session): AwsCredentials {
    this.#served++;
    return {
      accessKeyId: s.accessKeyId,
      secretAccessKey: s.secret.toString("utf8"),
      sessionToken: s.token.toString("utf8"),
      expiration: new Date(s.expiration.getTime()),
    };
  }

  #refresh(): Promise<Session> {
    this.#inflight ??= this.#assume().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  #context(): StsContext {
    if (!this.#ctx) {
      this.#ctx = makeStsContext(this.#opts.config, this.#opts.env ?? process.env, this.#opts.sts);
      this.#ownsClient = !this.#opts.sts;
    }
    return this.#ctx;
  }

  async #assume(): Promise<Session> {
    const { config, grantName, runId } = this.#opts;
    let r: Awaited<ReturnType<typeof assumeRole>>;
    try {
      r = await assumeRole(
        this.#context(),
        config,
        {
          sessionName: this.#sessionName,
          ...(this.#sourceIdentityAllowed ? { sourceIdentity: this.#sessionName } : {}),
        },
        () => {
          this.#stsCalls++;
        },
      );
    } catch (e) {
      // close() during the call may have torn the client down: that is not an STS failure.
      if (this.#closed) throw this.#closedError();
      this.#opts.onError?.(e as Error);
      throw e;
    }
    if (r.sourceIdentityRefused) this.#sourceIdentityAllowed = false;
    const c = r.output.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      const e = new AwsCredentialError(
        `STS answered AssumeRole of ${config.role} without credentials`,
        "BadResponse",
      );
      this.#opts.onError?.(e);
      throw e;
    }
    const expiration = new Date(c.Expiration.getTime());
    const session: Session = {
      accessKeyId: c.AccessKeyId,
      secret: Buffer.from(c.SecretAccessKey, "utf8"),
      token: Buffer.from(c.SessionToken, "utf8"),
      expiration,
      expiresAt: this.#now() + (expiration.getTime() - Date.now()),
    };
    if (this.#closed) {
      wipeSession(session);
      throw this.#closedError();
    }
    const old = this.#session;
    this.#session = session;
    if (old) wipeSession(old);
    const fingerprint = this.#opts.fingerprint?.(session.accessKeyId);
    this.#opts.onIssue?.({
      grant: grantName,
      role: config.role,
      runId,
      sessionName: this.#sessionName,
      ...(r.sourceIdentity ? { sourceIdentity: r.sourceIdentity } : {}),
      ...(r.output.AssumedRoleUser?.Arn ? { assumedRoleArn: r.output.AssumedRoleUser.Arn } : {}),
      expiresAt: expiration.toISOString(),
      ...(fingerprint ? { fingerprint } : {}),
    });
    return session;
  }
}

function wipeSession(s: Session): void {
  wipe(s.secret, s.token);
}
