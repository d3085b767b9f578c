/** `enclave bootstrap`: a blank machine to an unlocked vault in one command (credentials → pull → unlock). */
import type { Command } from "commander";
import { parseDuration } from "../config/duration.js";
import { VaultService } from "../vault/service.js";
import { readPassphrase } from "./input.js";
import { info, printJson } from "./output.js";
import { startReaper } from "./vault.js";

export function registerBootstrapCommand(program: Command): void {
  program
    .command("bootstrap")
    .description("on a new machine: check AWS credentials (log in if needed), pull the vault, unlock it")
    .requiredOption("--remote <url>", "where the vault lives: s3://BUCKET/KEY, file:///PATH or a path")
    .option(
      "--profile <name>",
      "AWS profile (e.g. IAM Identity Center); `aws sso login` runs if its session expired",
    )
    .option("--region <region>", "AWS region of the bucket")
    .option("--endpoint-url <url>", "S3-compatible endpoint")
    .option(
      "--passphrase-file <path>",
      "read the passphrase from PATH (- for stdin) instead of a hidden prompt",
    )
    .option("--ttl <duration>", "lock automatically after this long (default 8h)")
    .option("--json", "print the steps as JSON")
    .action(
      async (o: {
        remote: string;
        profile?: string;
        region?: string;
        endpointUrl?: string;
        passphraseFile?: string;
        ttl?: string;
        json?: boolean;
      }) => {
        const ttlMs = o.ttl ? parseDuration(o.ttl, "--ttl") : undefined;
        const vault = new VaultService({ notice: info });
        const { bootstrap } = await import("../bootstrap/bootstrap.js"); // loads the AWS SDK
        const steps = await bootstrap(vault, {
          remote: o.remote,
          aws: { profile: o.profile, region: o.region, endpointUrl: o.endpointUrl },
          ttlMs,
          notice: o.json ? () => undefined : info,
          readPassphrase: () =>
            readPassphrase({
              file: o.passphraseFile,
              prompt: "Vault passphrase: ",
              discardTypeAhead: true,
              warn: info,
            }),
        });
        startReaper(vault);
        if (o.json) printJson({ steps });
        else info("bootstrap complete");
      },
    );
}
