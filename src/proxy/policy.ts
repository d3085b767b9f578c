/**
 * Who may go where. Per target (host, port, scheme) the policy says: inject a grant's
 * credential (TLS terminated here), pass (tunnel untouched, or forward plain HTTP as is), or
 * deny with a reason that tells the operator how to allow it.
 */
import { type LookupAddress, lookup } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { type HostPattern, matchesHost } from "./host-pattern.js";

export type NetworkMode = "strict" | "permissive";

/** A grant as the proxy needs it: rendered header values, never templates. */
export interface ProxyGrant {
  name: string;
  hosts: HostPattern[];
  /**
   * Header name → rendered value (real), as bytes: never a JS string, which could not be wiped.
   * The run owns these buffers and wipes them at its end.
   */
  headers: { name: string; value: Buffer }[];
  plainHttp: boolean;
}

export interface ProxyPolicy {
  network: NetworkMode;
  grants: ProxyGrant[];
  allow: HostPattern[];
}

export type Decision =
  | { kind: "inject"; grant: ProxyGrant }
  /** `open`: passed only because the network is permissive (connect through guardedLookup). */
  | { kind: "pass"; open: boolean }
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
  if (policy.allow.some((p) => matchesHost(p, host, port, ALLOW_PORTS))) return { kind: "pass", open: false };
  if (policy.network === "permissive") {
    if (!isLocalTarget(host)) return { kind: "pass", open: true };
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
 * (instance credentials): not part of "the internet" that a permissive run may reach. IPv6
 * covers the IPv4-mapped forms (::ffff:127.0.0.1 is also ::ffff:7f00:1).
 */
const LOCAL_ADDRESSES = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["0.0.0.0", 8],
  ] as const) {
    b.addSubnet(net, bits, "ipv4");
    b.addSubnet(`::ffff:${net}`, 96 + bits, "ipv6");
  }
  b.addSubnet("::1", 128, "ipv6");
  b.addSubnet("::", 128, "ipv6");
  b.addSubnet("fe80::", 10, "ipv6");
  b.addSubnet("fd00:ec2::254", 128, "ipv6");
  return b;
})();

export function isLocalTarget(host: string): boolean {
  if (host === "localhost" || host.endsWith(".localhost") || host === "metadata.google.internal") return true;
  const v = isIP(host);
  return v !== 0 && LOCAL_ADDRESSES.check(host, v === 4 ? "ipv4" : "ipv6");
}

/**
 * A DNS lookup for the connections a permissive run opens to hosts nobody named: a name that
 * resolves to a local address (or a numeric form like 2130706433) is refused at the address
 * actually connected to, so a rebinding name cannot pass the check and then reach loopback.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, "", 4);
    const list = addresses as LookupAddress[];
    const local = list.find((a) => isLocalTarget(a.address));
    if (local || list.length === 0)
      return callback(
        Object.assign(
          new Error(
            `${hostname} resolves to ${local?.address ?? "no address"}, a loopback, link-local or metadata address, ` +
              `which a permissive run does not reach unless told; allow it with \`enclave run --allow ${hostname} …\``,
          ),
          { code: LOCAL_TARGET_CODE },
        ),
        "",
        4,
      );
    if ((options as { all?: boolean }).all)
      return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
};

/** The error code of a connection refused by guardedLookup. */
export const LOCAL_TARGET_CODE = "ENCLAVE_LOCAL_TARGET";
