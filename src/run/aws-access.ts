/**
 * A run's AWS grants: one STS session broker per grant, its credential endpoint mounted on the
 * run's local server (`/aws/<grant>/credentials`), a generated AWS config in the run's RAM
 * directory whose profiles call back through `credential_process`, and the container-endpoint
 * variables. The child gets the first grant as its default profile; every grant has a profile
 * named `enclave-<grant>`. Every issuance is an audit record (never the keys).
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { AuditEvent } from "../audit/events.js";
import { EnclaveError } from "../errors.js";
// The credential_process helper is run directly by node: no CLI framework to load per refresh.
import type { AwsGrant } from "../providers/grant.js";
import { wipe } from "../secure/buffers.js";
import type { LocalEndpoint } from "./run.js";

export interface AwsAccess {
  endpoint: LocalEndpoint;
  env: Record<string, string>;
  /**
   * Assume every role once before the command starts: a grant that cannot work fails the run
   * with the operator-facing reason, and the command's first lookup does not wait on STS (SDKs
   * give the container endpoint about a second).
   */
  warm(): Promise<void>;
}

export async function prepareAwsAccess(o: {
  grants: { name: string; grant: AwsGrant }[];
  runId: string;
  runDir: string;
  /** The port the child reaches the run's server at on 127.0.0.1. */
  port: number;
  env: NodeJS.ProcessEnv;
  audit: (e: AuditEvent) => void;
  fingerprint: (accessKeyId: string) => string;
  notice: (m: string) => void;
}): Promise<AwsAccess | undefined> {
  if (o.grants.length === 0) return undefined;
  const [
    { AwsSessionBroker },
    { handleCredentialRequest },
    { awsChildEnv, credentialProcessLine, renderAwsConfig },
    { CREDENTIAL_PROCESS_SCRIPT },
  ] = await Promise.all([
    import("../providers/aws/session-broker.js"),
    import("../providers/aws/endpoint.js"),
    import("../providers/aws/config-file.js"),
    // Only a run with an aws grant loads it (it brings node:https).
    import("../providers/aws/credential-process.js"),
  ]);
  const token = Buffer.from(randomBytes(32).toString("hex"));
  const tokenFile = join(o.runDir, "aws-token");
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const urlOf = (grant: string) => `http://127.0.0.1:${o.port}/aws/${grant}/credentials`;
  const brokers = new Map(
    o.grants.map(({ name, grant }) => [
      name,
      new AwsSessionBroker({
        grantName: name,
        config: grant,
        runId: o.runId,
        env: o.env,
        fingerprint: o.fingerprint,
        onIssue: (i) =>
          o.audit({
            type: "credential",
            run: o.runId,
            grant: name,
            kind: "aws",
            detail: {
              role: i.role,
              sessionName: i.sessionName,
              expiresAt: i.expiresAt,
              ...(i.assumedRoleArn ? { assumedRoleArn: i.assumedRoleArn } : {}),
              ...(i.sourceIdentity ? { sourceIdentity: i.sourceIdentity } : {}),
            },
            ...(i.fingerprint ? { fingerprint: i.fingerprint } : {}),
          }),
        onError: (e) => o.notice(`enclave: AWS grant ${name}: ${e.message}`),
      }),
    ]),
  );
  const config = o.grants
    .map(({ name, grant }) =>
      renderAwsConfig({
        profile: `enclave-${name}`,
        region: grant.region,
        credentialProcess: credentialProcessLine(
          [process.execPath, CREDENTIAL_PROCESS_SCRIPT],
          urlOf(name),
          tokenFile,
        ),
      }),
    )
    .join("\n");
  const configFile = join(o.runDir, "aws-config");
  writeFileSync(configFile, config, { mode: 0o600 });
  const first = o.grants[0]!;
  if (o.grants.length > 1)
    o.notice(
      `enclave: ${o.grants.length} AWS grants: the default profile is enclave-${first.name}; the others are profiles enclave-<grant>`,
    );
  const env = awsChildEnv({
    configFile,
    profile: `enclave-${first.name}`,
    region: first.grant.region,
    endpointUrl: urlOf(first.name),
    tokenFile,
    token: token.toString("latin1"),
  });
  const PATH = /^\/aws\/([^/]+)\/credentials$/;
  const endpoint: LocalEndpoint = {
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      const m = PATH.exec((req.url ?? "").split("?")[0]!);
      // Grant names are [A-Za-z0-9_.-]: the raw segment is the name (nothing to decode).
      const broker = m ? brokers.get(m[1]!) : undefined;
      if (!m || !broker) return false;
      const grant = m[1]!;
      void handleCredentialRequest(req, res, {
        broker,
        expectedToken: token,
        audit: (a) => {
          if (!a.ok)
            o.audit({
              type: "denied",
              run: o.runId,
              reason: `AWS credential request for grant ${grant}: ${a.reason ?? "refused"}`,
              method: req.method ?? "GET",
              path: `/aws/${grant}/credentials`,
            });
        },
      });
      return true;
    },
    close() {
      for (const b of brokers.values()) b.close();
      wipe(token);
    },
  };
  const warm = async () => {
    for (const [name, broker] of brokers) {
      try {
        await broker.get();
      } catch (e) {
        throw new EnclaveError(`AWS grant ${name}: ${(e as Error).message}; the command was not started`);
      }
    }
  };
  return { endpoint, env, warm };
}
