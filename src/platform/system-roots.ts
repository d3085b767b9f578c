/**
 * The machine's trusted roots: the distribution's bundle (what curl, Python and git trust), or
 * Node's built-in list where there is none. The proxy verifies upstreams against these, and the
 * run's child gets them in its CA bundle, so both sides trust the same authorities.
 */
import { existsSync, readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";

const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];

let cached: string | undefined;

export function systemRoots(): string {
  if (cached === undefined) {
    const file = SYSTEM_BUNDLES.find((f) => existsSync(f));
    cached = file ? readFileSync(file, "utf8") : rootCertificates.join("\n");
  }
  return cached;
}

/** The child's bundle: system roots, the run's CA, and any --upstream-ca the operator trusts. */
export function caBundle(runCaPem: string, extraPems: string[]): string {
  return `${[systemRoots().trimEnd(), runCaPem.trimEnd(), ...extraPems.map((p) => p.trimEnd())].join("\n")}\n`;
}
