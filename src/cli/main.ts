#!/usr/bin/env node
import { EnclaveError, ExitCode } from "../errors.js";
/**
 * The `enclave` command. Thin: builds the command tree (program.ts: only the chosen command's
 * group is loaded), runs it, and turns errors into the exit codes of DESIGN.md with a one-line
 * message (a stack trace only with ENCLAVE_DEBUG=1).
 */
import { CommanderError } from "./commander.js";
import { buildProgram } from "./program.js";

// Everything enclave creates is private from the first byte: files 0600, directories 0700.
process.umask(0o077);
// The AWS SDK warns on every run that its releases after January 2027 will need Node 22. That is a
// note for enclave's maintainers (tracked in the project), not something a user can act on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
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
