#!/usr/bin/env node
/**
 * The `enclave` command. Thin: builds the command tree, runs it, and turns errors into the exit
 * codes of DESIGN.md with a one-line message (a stack trace only with ENCLAVE_DEBUG=1).
 */
import { Command, CommanderError } from "commander";
import { EnclaveError, ExitCode } from "../errors.js";
import { registerAuditCommands } from "./audit.js";
import { registerBootstrapCommand } from "./bootstrap.js";
import { registerGrantCommands } from "./grant.js";
import { registerImportCommands } from "./import.js";
import { registerRunCommand } from "./run.js";
import { registerScanCommand } from "./scan.js";
import { registerShamirCommands } from "./shamir.js";
import { registerSyncCommands } from "./sync.js";
import { registerVaultCommands } from "./vault.js";
import { enclaveVersion } from "./version.js";

// Everything enclave creates is private from the first byte: files 0600, directories 0700.
process.umask(0o077);
// The AWS SDK warns on every run that its releases after January 2027 will need Node 22. That is a
// note for enclave's maintainers (tracked in the project), not something a user can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export function buildProgram(): Command {
  const program = new Command("enclave")
    .description(
      "Secret custody and credential brokering: an encrypted vault, opened only into RAM.\n" +
        "Environment: ENCLAVE_HOME (vault and config), ENCLAVE_RUNTIME_DIR (unlocked files, on tmpfs).",
    )
    .version(enclaveVersion())
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    // `enclave run … -- CMD --flag`: options after the command belong to the command.
    .enablePositionalOptions();
  // Subcommands inherit exitOverride and the help settings.
  registerVaultCommands(program);
  registerSyncCommands(program);
  registerBootstrapCommand(program);
  registerImportCommands(program);
  registerShamirCommands(program);
  registerScanCommand(program);
  registerGrantCommands(program);
  registerRunCommand(program);
  registerAuditCommands(program);
  // A run's credential_process helper (also runnable as node …/credential-process.js, faster).
  program
    .command("_aws-credentials", { hidden: true })
    .allowUnknownOption()
    .argument("[args...]")
    .action(async (args: string[]) => {
      const cp = await import("../providers/aws/credential-process.js");
      process.exitCode = await cp.credentialProcessMain(cp.parseCredentialProcessArgs(args));
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // A command may report through the exit code alone (scan: 1 = something was found).
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; every other parse problem is a usage error.
      return e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version"
        ? ExitCode.ok
        : ExitCode.usage;
    }
    if (e instanceof EnclaveError) {
      process.stderr.write(`enclave: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e as NodeJS.ErrnoException;
    process.stderr.write(`enclave: unexpected error: ${err.code ? `${err.code} ` : ""}${err.message}\n`);
    if (process.env.ENCLAVE_DEBUG) process.stderr.write(`${err.stack}\n`);
    return ExitCode.failure;
  }
}

process.exitCode = await main(process.argv);
