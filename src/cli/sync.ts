/**
 * Sync commands: remote set|show, push, pull, history, restore — and the automatic push after
 * changing commands (`--push`, or `autoPush: true` in config.yaml).
 */
import type { Command } from "commander";
import { loadConfig, recordRemote } from "../config/config.js";
import { UsageError } from "../errors.js";
import type { Side } from "../remote/merge.js";
import type { AwsOptions } from "../remote/s3-client.js";
import type { SyncService } from "../remote/sync.js";
import { parseRemoteUrl } from "../remote/url.js";
import { VaultService } from "../vault/service.js";
import { collect } from "./options.js";
import { formatBytes, info, printJson, table } from "./output.js";

interface AwsFlags {
  region?: string;
  profile?: string;
  endpointUrl?: string;
}

const awsOf = (o: AwsFlags): AwsOptions => ({
  region: o.region,
  profile: o.profile,
  endpointUrl: o.endpointUrl,
});

function withAwsOptions(cmd: Command): Command {
  return cmd
    .option("--profile <name>", "AWS profile (IAM Identity Center, credential_process, keys…)")
    .option("--region <region>", "AWS region of the bucket")
    .option(
      "--endpoint-url <url>",
      "S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)",
    );
}

/** The AWS SDK takes ~130 ms to load: only sync commands pay for it. */
async function loadSync(): Promise<typeof import("../remote/sync.js")> {
  return import("../remote/sync.js");
}

export async function syncService(
  aws: AwsOptions = {},
  vault = new VaultService({ notice: info }),
): Promise<SyncService> {
  const { SyncService } = await loadSync();
  return new SyncService(vault, aws);
}

/** After a changing command: push when asked to (flag) or configured to (autoPush). */
export async function autoPush(vault: VaultService, flag: boolean | undefined): Promise<void> {
  const config = loadConfig(vault.paths.configFile);
  if (!(flag ?? config.autoPush) || (!config.remote && !flag)) return;
  try {
    const r = await (await syncService({}, vault)).push();
    info(r.status === "pushed" ? `pushed to ${r.remote}` : `${r.remote} is up to date`);
  } catch (e) {
    info("the change is saved locally, but pushing it failed:");
    throw e;
  }
}

function parseTakes(values: string[], flag: string): Map<string, Side> {
  const m = new Map<string, Side>();
  for (const v of values) {
    const eq = v.lastIndexOf("=");
    const side = v.slice(eq + 1);
    if (eq <= 0 || (side !== "ours" && side !== "theirs"))
      throw new UsageError(`${flag} ${v}: expected NAME=ours or NAME=theirs`);
    m.set(v.slice(0, eq), side);
  }
  return m;
}

export function registerSyncCommands(program: Command): void {
  const remote = program
    .command("remote")
    .description("where the vault syncs to (s3://BUCKET/KEY, file:///PATH or a path)");
  withAwsOptions(
    remote
      .command("set")
      .description("set the remote (and AWS settings for an s3:// remote) in config.yaml")
      .argument("<url>", "s3://BUCKET/KEY, file:///PATH, or a path"),
  ).action((url: string, o: AwsFlags) => {
    parseRemoteUrl(url); // validate before saving
    const vault = new VaultService({ notice: info });
    vault.store.ensureHome();
    recordRemote(vault.paths.configFile, url, awsOf(o));
    info(`remote set to ${url}`);
  });
  remote
    .command("show")
    .description("show the remote and the last sync")
    .option("--json", "print as JSON")
    .action(async (o: { json?: boolean }) => {
      const vault = new VaultService({ notice: info });
      const config = loadConfig(vault.paths.configFile);
      const shown = {
        remote: config.remote ?? null,
        aws: config.aws ?? {},
        autoPush: config.autoPush ?? false,
      };
      if (o.json) return printJson(shown);
      process.stdout.write(`remote:   ${shown.remote ?? "(none; enclave remote set URL)"}\n`);
      if (config.aws) process.stdout.write(`aws:      ${JSON.stringify(config.aws)}\n`);
      process.stdout.write(`autoPush: ${shown.autoPush}\n`);
    });

  withAwsOptions(
    program
      .command("push")
      .description("upload the local vault if it changed (conditional: exit 5 if the remote moved)"),
  )
    .option("--json", "print the result as JSON")
    .action(async (o: AwsFlags & { json?: boolean }) => {
      const r = await (await syncService(awsOf(o))).push();
      if (o.json) return printJson(r);
      info(
        r.status === "pushed"
          ? `pushed ${formatBytes(r.bytes)} to ${r.remote}`
          : `nothing to push; ${r.remote} has this version`,
      );
    });

  withAwsOptions(
    program
      .command("pull")
      .description("fetch the remote; fast-forward, or merge by secret when both sides changed")
      .option("--ours", "settle every conflict with the local value")
      .option("--theirs", "settle every conflict with the remote value")
      .option(
        "--take <name=side>",
        "settle one secret's conflict: NAME=ours or NAME=theirs (repeatable)",
        collect,
        [],
      )
      .option(
        "--take-grant <name=side>",
        "settle one grant's conflict: NAME=ours or NAME=theirs (repeatable)",
        collect,
        [],
      )
      .option("--json", "print the result as JSON"),
  ).action(
    async (
      o: AwsFlags & { ours?: boolean; theirs?: boolean; take: string[]; takeGrant: string[]; json?: boolean },
    ) => {
      if (o.ours && o.theirs) throw new UsageError("--ours and --theirs exclude each other");
      const r = await (await syncService(awsOf(o))).pull({
        all: o.ours ? "ours" : o.theirs ? "theirs" : undefined,
        perSecret: parseTakes(o.take, "--take"),
        perGrant: parseTakes(o.takeGrant, "--take-grant"),
      });
      if (o.json) return printJson(r);
      const what = {
        cloned: "fetched the vault from",
        "up-to-date": "up to date with",
        "fast-forward": "updated from",
        merged: "merged with",
      };
      info(`${what[r.status]} ${r.remote}${r.updated.length ? `; changed: ${r.updated.join(", ")}` : ""}`);
      for (const c of r.resolved) info(`conflict on ${c.kind} ${c.name} settled with ${c.side}`);
      if (r.needsPush) info("the local vault has changes the remote lacks; run `enclave push`");
    },
  );

  withAwsOptions(program.command("history").description("list the remote's previous versions"))
    .option("--json", "print as JSON")
    .action(async (o: AwsFlags & { json?: boolean }) => {
      const h = await (await syncService(awsOf(o))).history();
      if (o.json) return printJson(h);
      if (h.versions.length === 0) return info(`no versions of ${h.remote} yet`);
      process.stdout.write(
        `${table(
          h.versions.map((v) => [v.id, v.modified, formatBytes(v.size), v.current ? "current" : ""]),
          ["VERSION", "MODIFIED", "SIZE", ""],
        )}\n`,
      );
      info(`(${h.storage === "s3-versioning" ? "S3 bucket versioning" : `history copies in ${h.storage}`})`);
    });

  withAwsOptions(
    program
      .command("restore")
      .description("replace the local vault with a previous remote version (push afterwards to publish it)")
      .argument("<version>", "a version id from `enclave history`")
      .option("--force", "drop local changes that were not pushed")
      .option("--push", "push the restored vault right away"),
  ).action(async (version: string, o: AwsFlags & { force?: boolean; push?: boolean }) => {
    const sync = await syncService(awsOf(o));
    const r = await sync.restore(version, { force: o.force });
    info(
      `restored version ${r.version} of ${r.remote} locally${r.updated.length ? `; changed: ${r.updated.join(", ")}` : ""}`,
    );
    if (o.push) {
      const p = await sync.push();
      info(
        p.status === "pushed"
          ? `pushed; it is now the remote's newest version`
          : "the remote already has this version",
      );
    } else info("run `enclave push` to make it the remote's newest version");
  });
}
