/**
 * Who may go where. Per target (host, port, scheme) the policy says: inject a grant's
 * credential (TLS terminated here), pass (tunnel untouched, or forward plain HTTP as is), or
 * deny with a reason that tells the operator how to allow it.
 */
import { type HostPattern, matchesHost } from "./host-pattern.js";

export type NetworkMode = "strict" | "permissive";

/** A grant as the proxy needs it: rendered header values, never templates. */
export interface ProxyGrant {
  name: string;
  hosts: HostPattern[];
  /** Header name → rendered value (real). */
  headers: { name: string; value: string }[];
  plainHttp: boolean;
}

export interface ProxyPolicy {
  network: NetworkMode;
  grants: ProxyGrant[];
  allow: HostPattern[];
}

export type Decision =
  | { kind: "inject"; grant: ProxyGrant }
  | { kind: "pass" }
  | { kind: "deny"; reason: string };

const TLS_PORTS = [443] as const;
const HTTP_PORTS = [80] as const;
const ALLOW_PORTS = [443, 80] as const;

export function decide(policy: ProxyPolicy, host: string, port: number, scheme: "https" | "http"): Decision {
  const target = `${host}:${port}`;
  if (scheme === "https") {
    const g = policy.grants.find((g) => g.hosts.some((p) => matchesHost(p, host, port, TLS_PORTS)));
    if (g) return { kind: "inject", grant: g };
  } else {
    const g = policy.grants.find((g) => g.hosts.some((p) => matchesHost(p, host, port, HTTP_PORTS)));
    if (g?.plainHttp) return { kind: "inject", grant: g };
    const anyPort = (p: HostPattern) => matchesHost({ ...p, port: undefined }, host, 0, [0]);
    const tlsGrant = policy.grants.find((g) => g.hosts.some(anyPort));
    if (tlsGrant && !tlsGrant.plainHttp)
      return {
        kind: "deny",
        reason: `grant ${tlsGrant.name} covers ${host} over HTTPS only; use https:// (a credential is never sent in clear unless the grant allows plain HTTP)`,
      };
  }
  if (policy.network === "permissive" || policy.allow.some((p) => matchesHost(p, host, port, ALLOW_PORTS)))
    return { kind: "pass" };
  return {
    kind: "deny",
    reason: `${target} is not allowed in this run (strict network); allow it with \`enclave run --allow ${port === 443 || port === 80 ? host : target} …\` or grant a credential for it`,
  };
}
