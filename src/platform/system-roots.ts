/**
 * The CA bundle the child trusts: the system roots (so allowed, tunnelled hosts verify as
 * usual), the run's CA (for the hosts the proxy terminates), and any --upstream-ca the operator
 * trusts. One file, named by every variable tools read (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS…).
 */
import { existsSync, readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];

export function systemRoots(): string {
  for (const f of SYSTEM_BUNDLES) if (existsSync(f)) return readFileSync(f, "utf8");
  return rootCertificates.join("\n");
}

export function caBundle(runCaPem: string, extraPems: string[]): string {
  return `${[systemRoots().trimEnd(), runCaPem.trimEnd(), ...extraPems.map((p) => p.trimEnd())].join("\n")}\n`;
}
