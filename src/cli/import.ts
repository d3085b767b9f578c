/**
 * Import commands: `enclave import tazpod FILE` migrates a TazPod vault (vault.tar.aes) into the
 * unlocked enclave vault. Parsing, prompts and output only; the work is in src/import/.
 */
import type { Command } from "commander";
import { EnclaveError } from "../errors.js";
import { importSecrets, normalizePrefix } from "../import/apply.js";
import type { readTazpodVault } from "../import/tazpod.js";
import { wipe } from "../secure/buffers.js";
import { VaultService } from "../vault/service.js";
import { readPassphrase } from "./input.js";
import { formatBytes, info, printJson, table } from "./output.js";
import { autoPush } from "./sync.js";

interface TazpodOptions {
  passphraseFile?: string;
  prefix?: string;
  dryRun?: boolean;
  overwrite?: boolean;
  json?: boolean;
  push?: boolean;
}

export function registerImportCommands(program: Command): void {
  const group = program
    .command("import")
    .description("bring secrets from another tool into the unlocked vault");

  group
    .command("tazpod")
    .description("import a TazPod vault (vault.tar.aes): decrypted, unpacked and read in memory only")
    .argument("<file>", "the TazPod vault file, e.g. .tazpod/vault/vault.tar.aes")
    .option(
      "--passphrase-file <path>",
      "read the TazPod passphrase from PATH (first line; - for stdin) instead of a hidden prompt",
    )
    .option("--prefix <p>", "import every secret under P/ (e.g. tazpod)")
    .option("--dry-run", "list what would be imported (names and sizes, never values); change nothing")
    .option("--overwrite", "replace secrets that already exist (refused by default)")
    .option("--push", "push the vault to its remote afterwards (default: autoPush in config.yaml)")
    .option("--no-push", "do not push, even with autoPush set")
    .option("--json", "print the result as JSON")
    .action(async (file: string, o: TazpodOptions) => {
      normalizePrefix(o.prefix); // a bad prefix is a usage error before anything else
      const svc = new VaultService({ notice: info });
      await svc.requireUnlocked(); // locked / no vault (exit 6) before prompting
      // Loaded on use: tar-stream costs ~20 ms, which every other command would pay at start-up.
      const { loadTazpodFile, readTazpodVault } = await import("../import/tazpod.js");
      const tazpod = loadTazpodFile(file); // missing or too short (exit 1 / 4) before prompting
      const pass = await readPassphrase({
        file: o.passphraseFile,
        prompt: "TazPod passphrase: ",
        warn: info,
      });
      let contents: Awaited<ReturnType<typeof readTazpodVault>>;
      try {
        contents = await readTazpodVault(tazpod, pass, { file });
      } finally {
        wipe(pass);
      }
      const r = await importSecrets(svc, contents.secrets, contents.skipped, o);
      if (o.json) printJson({ file, topFolder: contents.topFolder, ...r });
      else printText(r, contents.topFolder);
      if (r.refusal) throw new EnclaveError(r.refusal);
      if (!r.dryRun && r.secrets.some((x) => x.changed)) await autoPush(svc, o.push);
    });
}

function printText(r: Awaited<ReturnType<typeof importSecrets>>, topFolder: string | null): void {
  if (topFolder) info(`names are relative to the archive's top folder ${topFolder}/`);
  // Entry names come from an untrusted archive: JSON quoting keeps control characters inert.
  for (const s of r.skipped) info(`skipped ${JSON.stringify(s.entry)}: ${s.reason}`);
  if (r.dryRun) {
    if (r.secrets.length > 0)
      process.stdout.write(
        `${table(
          r.secrets.map((s) => [s.name, formatBytes(s.size), s.action]),
          ["NAME", "SIZE", "ACTION"],
        )}\n`,
      );
    info(
      `dry run: ${r.secrets.length} secret(s) would be imported, ${r.skipped.length} skipped; nothing was changed`,
    );
    return;
  }
  for (const s of r.secrets)
    info(`${s.action === "create" ? "imported" : s.changed ? "replaced" : "unchanged"} ${s.name}`);
  const replaced = r.secrets.filter((s) => s.action === "overwrite").length;
  info(
    `imported ${r.secrets.length} secret(s)` +
      (replaced ? ` (${replaced} replaced)` : "") +
      (r.skipped.length ? `, skipped ${r.skipped.length} entr${r.skipped.length === 1 ? "y" : "ies"}` : ""),
  );
}
