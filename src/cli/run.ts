/**
 * `enclave run [--grant NAME]… [--allow HOST]… -- CMD ARGS…`: start CMD with the run's broker
 * (proxy, credential endpoints) and sandbox; exit with CMD's exit code.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { VaultService } from "../vault/service.js";
import { Option } from "./commander.js";
import { collect } from "./options.js";
import { info } from "./output.js";

function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`--upstream-ca ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----"))
    throw new UsageError(`--upstream-ca ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return text;
}

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description(
      "run a command with scoped credentials: granted hosts get real credentials from the proxy,\n" +
        "the command holds only placeholders; network limited to granted/allowed hosts; sandboxed with bubblewrap\n" +
        "example: enclave run --grant github -- gh api /user",
    )
    .argument("<command>", "the command to run")
    .argument("[args...]", "its arguments (put -- before the command)")
    .option("--grant <name>", "grant to use (repeatable); see `enclave grant ls`", collect, [])
    .option("--allow <host[:port]>", "also allow this host, without credentials (repeatable)", collect, [])
    .addOption(
      new Option(
        "--network <mode>",
        "strict: only granted and allowed hosts; permissive: all hosts, all audited",
      ).choices(["strict", "permissive"]),
    )
    .addOption(
      new Option(
        "--sandbox <mode>",
        "bwrap: isolate with bubblewrap; none: no isolation; auto: bwrap when available",
      )
        .choices(["auto", "bwrap", "none"])
        .default("auto"),
    )
    .option(
      "--clean-env",
      "start from a minimal environment (PATH, HOME, TERM, locale) instead of the current one",
    )
    .option("--upstream-ca <file>", "also trust this CA (PEM) for upstream servers (repeatable)", collect, [])
    .passThroughOptions()
    .action(
      async (
        command: string,
        args: string[],
        o: {
          grant: string[];
          allow: string[];
          network?: "strict" | "permissive";
          sandbox: "auto" | "bwrap" | "none";
          cleanEnv?: boolean;
          upstreamCa: string[];
        },
      ) => {
        const upstreamCAs = o.upstreamCa.map(readCaFile);
        const { runCommand } = await import("../run/run.js");
        const r = await runCommand(new VaultService({ notice: info }), {
          command,
          args,
          grants: o.grant,
          allow: o.allow,
          network: o.network,
          sandbox: o.sandbox,
          cleanEnv: o.cleanEnv === true,
          upstreamCAs,
          cwd: process.cwd(),
          env: process.env,
          notice: info,
        });
        process.exitCode = r.exitCode;
      },
    );
}
