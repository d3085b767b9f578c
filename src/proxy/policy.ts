/**
 * Who may go where. Per target (host, port, scheme) the policy says: inject a grant's
 * credential (TLS terminated here), pass (tunnel untouched, or forward plain HTTP as is), or
 * deny with a reason that tells the operator how to allow it.
 */
import { isIP } from "node:net";
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
  if (policy.allow.some((p) => matchesHost(p, host, port, ALLOW_PORTS))) return { kind: "pass" };
  if (policy.network === "permissive") {
    if (!isLocalTarget(host)) return { kind: "pass" };
    return {
      kind: "deny",
      reason: `${target} is a loopback, link-local or cloud-metadata address, which even a permissive run does not reach unless told; allow it with \`enclave run --allow ${target} …\``,
    };
  }
  return {
    kind: "deny",
    reason: `${target} is not allowed in this run (strict network); allow it with \`enclave run --allow ${port === 443 || port === 80 ? host : target} …\` or grant a credential for it`,
  };
}

/**
 * Addresses that reach the operator's own machine or the cloud instance's metadata service
 * (instance credentials): not part of "the internet" that a permissive run may reach.
 */
export function isLocalTarget(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost") || host === "metadata.google.internal") return true;
  const v = isIP(host);
  if (v === 4) return host.startsWith("127.") || host.startsWith("169.254.") || host.startsWith("0.");
  if (v === 6)
    return (
      host === "::1" ||
      host === "::" ||
      /^fe[89ab][0-9a-f]:/.test(host) ||
      host === "fd00:ec2::254" ||
      /^::ffff:(127|169\.254)\./.test(host)
    );
  return false;
}
