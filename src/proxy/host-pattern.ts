/**
 * Host patterns, as grants and `--allow` name them: `api.github.com`, `*.example.com`,
 * `host:port`, an IPv4 literal or a bracketed IPv6 literal. A wildcard stands for exactly one
 * label (as in TLS certificates), so `*.example.com` matches `a.example.com`, not
 * `a.b.example.com` nor `example.com`. Without a port a pattern means the default ports of the
 * schemes it is used with (443, and 80 where plain HTTP is allowed).
 */
import { isIP } from "node:net";
import { UsageError } from "../errors.js";

export interface HostPattern {
  /** Lower-case; for a wildcard, the suffix after `*.` (e.g. "example.com"). */
  host: string;
  wildcard: boolean;
  /** Any number of labels (enclave's own patterns only, e.g. every AWS endpoint); not user syntax. */
  deep?: boolean;
  /** undefined: the default ports. */
  port: number | undefined;
  /** As written by the user, normalised (lower case). */
  text: string;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function parseHostPattern(input: string): HostPattern {
  const text = input.trim().toLowerCase();
  const bad = (why: string) => new UsageError(`invalid host pattern "${input}": ${why}`);
  if (text === "") throw bad("it is empty");
  if (/[/?#@\s]/.test(text)) throw bad("give a host name (and optionally :port), not a URL");
  let host = text;
  let port: number | undefined;
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    if (isIP(host) !== 6) throw bad("not an IPv6 address");
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], bad);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0) {
      if (text.indexOf(":") !== colon) throw bad("write IPv6 literals in brackets, e.g. [::1]:8443");
      host = text.slice(0, colon);
      port = parsePort(text.slice(colon + 1), bad);
    }
  }
  if (isIP(host)) return { host, wildcard: false, port, text: formatPattern(host, false, port) };
  if (host === "*") throw bad("`*` would match every host; name the hosts the credential is for");
  const wildcard = host.startsWith("*.");
  const name = wildcard ? host.slice(2) : host;
  if (name.includes("*")) throw bad("a wildcard may only be the whole first label, as in *.example.com");
  const labels = name.replace(/\.$/, "").split(".");
  if (!labels.every((l) => LABEL.test(l))) throw bad("not a valid DNS name");
  if (wildcard && labels.length < 2)
    throw bad(`*.${name} would match every host under a top-level domain; name a registered domain`);
  if (!wildcard && labels.length < 2 && name !== "localhost")
    throw bad("a bare top-level domain is not a host; give the full host name");
  const norm = labels.join(".");
  return { host: norm, wildcard, port, text: formatPattern(norm, wildcard, port) };
}

function parsePort(s: string, bad: (why: string) => Error): number {
  const n = /^\d{1,5}$/.test(s) ? Number(s) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw bad("the port must be a number from 1 to 65535");
  return n;
}

function formatPattern(host: string, wildcard: boolean, port: number | undefined): string {
  const h = isIP(host) === 6 ? `[${host}]` : `${wildcard ? "*." : ""}${host}`;
  return port === undefined ? h : `${h}:${port}`;
}

/** Lower-cased host without brackets or a trailing dot: the form every comparison uses. */
export function normalizeHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/**
 * Does the pattern cover host:port? `defaultPorts` are the ports a port-less pattern stands for.
 * `host` must already be normalised.
 */
export function matchesHost(
  p: HostPattern,
  host: string,
  port: number,
  defaultPorts: readonly number[],
): boolean {
  if (p.port === undefined ? !defaultPorts.includes(port) : p.port !== port) return false;
  if (!p.wildcard) return host === p.host;
  if (!host.endsWith(`.${p.host}`)) return false;
  const first = host.slice(0, host.length - p.host.length - 1);
  return first.length > 0 && (p.deep === true || !first.includes("."));
}

/** Every host under `domain`, at any depth (used for the AWS endpoints of an aws grant). */
export function domainPattern(domain: string): HostPattern {
  return { host: domain, wildcard: true, deep: true, port: undefined, text: `**.${domain}` };
}
