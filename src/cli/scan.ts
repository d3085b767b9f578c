/** `enclave scan`: credentials in a tree or a git history, including the vault's own values. */
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../config/config.js";
import { resolvePaths } from "../config/paths.js";
import { EnclaveError, ExitCode, UsageError } from "../errors.js";
import type { KnownMatcher } from "../scan/known.js";
import { wipe } from "../secure/buffers.js";
import { collect } from "./options.js";
import { info } from "./output.js";
import { enclaveVersion } from "./version.js";

interface ScanFlags {
  history?: boolean;
  known?: boolean;
  format: string;
  baseline?: string;
  writeBaseline?: string;
  exclude: string[];
  maxFileSize?: string;
}

const FORMATS = ["text", "json", "sarif"];

/** "files 1,234/5,000 · 12.3 MB · 45.6 MB/s" on one rewritten stderr line, a few times a second. */
function progressPrinter():
  | ((p: { done: number; total: number; bytes: number; unit: string }) => void)
  | undefined {
  if (!process.stderr.isTTY) return undefined;
  const started = performance.now();
  let last = 0;
  return (p) => {
    const now = performance.now();
    if (now - last < 150 && p.done < p.total) return;
    last = now;
    const mb = p.bytes / 1048576;
    const rate = mb / Math.max((now - started) / 1000, 0.001);
    process.stderr.write(
      `\r${p.unit} ${p.done.toLocaleString("en-US")}/${p.total.toLocaleString("en-US")} · ${mb.toFixed(1)} MB · ${rate.toFixed(1)} MB/s\x1b[K`,
    );
    if (p.done === p.total) process.stderr.write("\r\x1b[K");
  };
}

export function registerScanCommand(program: Command): void {
  program
    .command("scan")
    .description("find credentials in a tree or git history (exit 1 when something is found)")
    .argument("[path]", "folder to scan", ".")
    .option("--history", "scan every blob ever committed on all refs (each distinct blob once)")
    .option(
      "--known",
      "also look for the unlocked vault's own values (and their encodings), reported by name only",
    )
    .option("--format <format>", "text, json or sarif", "text")
    .option("--baseline <file>", "suppress the findings whose fingerprints this file lists")
    .option(
      "--write-baseline <file>",
      "accept the current findings: write their fingerprints to FILE and exit 0",
    )
    .option(
      "--exclude <pattern>",
      "leave out paths (gitignore syntax; repeatable; adds to scan.exclude in config)",
      collect,
      [],
    )
    .option("--max-file-size <bytes>", "skip files larger than this (default 5 MiB)")
    .action(async (path: string, o: ScanFlags) => {
      if (!FORMATS.includes(o.format)) throw new UsageError(`--format must be one of ${FORMATS.join(", ")}`);
      const maxFileBytes = o.maxFileSize === undefined ? undefined : Number(o.maxFileSize);
      if (maxFileBytes !== undefined && !(Number.isInteger(maxFileBytes) && maxFileBytes > 0))
        throw new UsageError("--max-file-size must be a positive number of bytes");
      const config = loadConfig(resolvePaths(process.env).configFile);
      const root = resolve(path);
      // git lists a working tree's files while the scanner's modules load (not for --known: opening
      // the vault comes first, and may stop the scan).
      const listing = o.history || o.known ? undefined : (await import("../scan/git.js")).listGitFiles(root);
      const [{ scan }, { RULES }, report] = await Promise.all([
        import("../scan/scanner.js"),
        import("../scan/rules.js"),
        import("../scan/report.js"),
      ]);
      const baselines = o.baseline || o.writeBaseline ? await import("../scan/baseline.js") : undefined;

      let known: KnownMatcher | undefined;
      if (o.known) {
        const { KnownMatcher } = await import("../scan/known.js");
        const { VaultService } = await import("../vault/service.js");
        const secrets = await new VaultService({ notice: info }).allSecrets(); // exit 6 when locked
        known = new KnownMatcher(secrets);
        for (const s of secrets) wipe(s.value);
        if (known.tooShort.length)
          info(
            `note: not searching for ${known.tooShort.join(", ")} (shorter than 8 bytes: would match ordinary text)`,
          );
      }
      try {
        const result = await scan({
          root,
          ...(listing ? { listing } : {}),
          history: o.history,
          known,
          maxFileBytes: maxFileBytes ?? config.scan?.maxFileBytes,
          exclude: [...(config.scan?.exclude ?? []), ...o.exclude],
          baseline: o.baseline ? baselines!.loadBaseline(o.baseline) : undefined,
          onProgress: progressPrinter(),
        });
        if (o.writeBaseline) {
          // A rewritten baseline keeps what the old one accepted, plus what is new.
          baselines!.writeBaseline(o.writeBaseline, [...result.suppressed, ...result.findings]);
          info(`accepted ${result.findings.length} finding(s) into ${o.writeBaseline}`);
          return;
        }
        const out =
          o.format === "json"
            ? report.formatJson(result)
            : o.format === "sarif"
              ? report.formatSarif(result, RULES, enclaveVersion())
              : report.formatText(result);
        process.stdout.write(out);
        if (result.findings.length > 0) process.exitCode = ExitCode.failure;
      } catch (e) {
        if (e instanceof EnclaveError) throw e;
        throw new EnclaveError(`scan failed: ${(e as Error).message}`);
      } finally {
        known?.wipe();
        if (process.stderr.isTTY) process.stderr.write("\r\x1b[K"); // no progress line left behind
      }
    });
}
