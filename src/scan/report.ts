/** The three output formats of `enclave scan`: text for people, JSON and SARIF 2.1.0 for CI. */
import type { Log, ReportingDescriptor, Result } from "sarif";
import { printable } from "../platform/printable.js";
import type { Finding } from "./findings.js";
import type { Rule } from "./rules.js";
import type { ScanResult } from "./scanner.js";

export const KNOWN_SECRET_RULE = {
  id: "known-secret",
  title: "A value of the unlocked vault",
  description:
    "The value of a secret held in the enclave vault (raw, base64, base64url, hex or URL-encoded).",
};

function what(f: Finding): string {
  return f.ruleId === "known-secret"
    ? `the value of vault secret "${f.secretName}"${f.encoding === "raw" ? "" : ` (${f.encoding})`}`
    : `${f.ruleId} ${f.redacted}`;
}

export function formatText(r: ScanResult): string {
  const lines = r.findings.map((f) => {
    const where = `${printable(f.path)}:${f.line}:${f.column}`;
    const origin = f.commit ? ` in commit ${f.commit.slice(0, 12)} (${printable(f.author)}, ${f.date})` : "";
    return `${where}: ${what(f)}${origin}`;
  });
  const s = r.stats;
  const skipped = [
    s.skippedBinary ? `${s.skippedBinary} binary` : "",
    s.skippedLarge ? `${s.skippedLarge} too large` : "",
    s.skippedUnreadable ? `${s.skippedUnreadable} unreadable` : "",
    s.suppressedByBaseline ? `${s.suppressedByBaseline} finding(s) accepted by the baseline` : "",
  ].filter(Boolean);
  lines.push(
    `${r.findings.length} finding(s) in ${s.scanned} ${s.mode === "history" ? "blob(s)" : "file(s)"} ` +
      `(${(s.bytes / 1048576).toFixed(1)} MB in ${(s.ms / 1000).toFixed(1)} s)${skipped.length ? `; skipped ${skipped.join(", ")}` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

export function formatJson(r: ScanResult): string {
  return `${JSON.stringify({ findings: r.findings, stats: r.stats }, null, 2)}\n`;
}

export function formatSarif(r: ScanResult, rules: Rule[], version: string): string {
  const descriptors: ReportingDescriptor[] = [...rules, KNOWN_SECRET_RULE].map((rule) => ({
    id: rule.id,
    name: rule.id,
    shortDescription: { text: rule.title },
    fullDescription: { text: rule.description },
    defaultConfiguration: { level: "error" },
  }));
  const index = new Map(descriptors.map((d, i) => [d.id, i]));
  const results: Result[] = r.findings.map((f) => ({
    ruleId: f.ruleId,
    ruleIndex: index.get(f.ruleId),
    level: "error",
    message: {
      text: `${what(f)}${f.commit ? ` (introduced in commit ${f.commit})` : ""}`,
    },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: f.path.split("/").map(encodeURIComponent).join("/") },
          region: { startLine: f.line, startColumn: f.column },
        },
      },
    ],
    partialFingerprints: { "enclave/v1": f.fingerprint },
    ...(f.commit ? { properties: { commit: f.commit, author: f.author, date: f.date } } : {}),
  }));
  const log: Log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [{ tool: { driver: { name: "enclave", version, rules: descriptors } }, results }],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
