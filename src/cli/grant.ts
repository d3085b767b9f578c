/**
 * Grant commands: grant http|env|aws NAME …, grant ls, grant show, grant rm. Grants are stored in
 * the vault (an unlocked vault is needed); they hold names and hosts, never values.
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import type { Grant, GrantHeader } from "../providers/grant.js";
import { VaultService } from "../vault/service.js";
import { collect } from "./options.js";
import { info, printJson, table } from "./output.js";
import { autoPush } from "./sync.js";

const PUSH_HELP = "push the vault to its remote afterwards";

/** The flags of the commands that create a grant (`grant http|env|aws`). */
interface SaveFlags {
  replace?: boolean;
  push?: boolean;
}

/** The options every command that creates a grant ends with. */
function withSaveOptions(cmd: Command): Command {
  return cmd.option("--replace", "replace an existing grant of that name").option("--push", PUSH_HELP);
}

/** zod and the grant schema load only for grant commands. */
async function grantModules() {
  const [grant, store] = await Promise.all([
    import("../providers/grant.js"),
    import("../providers/grant-store.js"),
  ]);
  return { ...grant, ...store };
}

async function save(
  name: string,
  grant: Grant,
  o: SaveFlags,
  vault = new VaultService({ notice: info }),
): Promise<void> {
  const { GrantStore, RUNG } = await grantModules();
  const r = await new GrantStore(vault).put(name, grant, { replace: o.replace });
  info(`${r.replaced ? "replaced" : "created"} grant ${name} (${grant.kind}: ${RUNG[grant.kind].label})`);
  await autoPush(vault, o.push);
}

export function registerGrantCommands(program: Command): void {
  const grant = program
    .command("grant")
    .description("what runs may use: credentials injected by the proxy, AWS roles, environment variables");

  withSaveOptions(
    grant
      .command("http")
      .description(
        "inject headers into HTTPS requests to the named hosts; the command holds only a placeholder\n" +
          "example: enclave grant http github --host api.github.com --header 'Authorization: Bearer {{secret github/token}}'",
      )
      .argument("<name>", "grant name")
      .requiredOption(
        "--host <pattern>",
        "host it is for (api.github.com, *.example.com, host:port); repeatable",
        collect,
      )
      .option(
        "--header <header>",
        "'Name: value' with {{secret NAME}} where the value goes; repeatable",
        collect,
      )
      .option(
        "--basic <user:password>",
        "HTTP basic auth, e.g. 'x-access-token:{{secret github/token}}' (git over HTTPS)",
      )
      .option(
        "--env <var>",
        "give the command a placeholder of the (first) secret in VAR, for tools that insist on one",
      )
      .option(
        "--plain-http",
        "also inject into plain http:// requests (the credential then crosses the network in clear)",
      ),
  ).action(
    async (
      name: string,
      o: SaveFlags & { host: string[]; header?: string[]; basic?: string; env?: string; plainHttp?: boolean },
    ) => {
      const m = await grantModules();
      const headers: GrantHeader[] = (o.header ?? []).map(m.parseHeaderOption);
      if (o.basic) headers.push(m.parseBasicOption(o.basic));
      if (headers.length === 0) throw new UsageError("give at least one --header or --basic");
      const hosts = o.host.map((h) => m.parseHostPatternText(h));
      const g: Grant = { kind: "http", hosts, headers, createdAt: new Date().toISOString() };
      if (o.env) g.env = o.env;
      if (o.plainHttp) g.plainHttp = true;
      await save(name, g, o);
    },
  );

  withSaveOptions(
    grant
      .command("env")
      .description(
        "put a secret's value in the command's environment — the FLOOR of the credential ladder: the command holds the real value",
      )
      .argument("<name>", "grant name")
      .requiredOption("--var <VAR>", "environment variable to set")
      .requiredOption("--secret <secret>", "secret whose value it gets"),
  ).action(async (name: string, o: SaveFlags & { var: string; secret: string }) => {
    await save(name, { kind: "env", var: o.var, secret: o.secret, createdAt: new Date().toISOString() }, o);
    info("note: an env grant hands the command the real value; prefer `grant http` where the API allows it");
  });

  withSaveOptions(
    grant
      .command("aws")
      .description("mint short-lived AWS credentials for each run by assuming a role (the top of the ladder)")
      .argument("<name>", "grant name")
      .requiredOption("--role <arn>", "role to assume, e.g. arn:aws:iam::123456789012:role/agent")
      .option("--region <region>", "region for STS and for the command (AWS_REGION)")
      .option("--duration <duration>", "session length, 15m to 12h (default 1h)")
      .option("--external-id <id>", "external id the role's trust policy requires")
      .option("--policy <file>", "session policy (JSON) narrowing the role for every run")
      .option(
        "--source-profile <profile>",
        "AWS profile enclave itself assumes the role with (default: the standard chain)",
      )
      .option("--no-verify", "do not try one AssumeRole now"),
  ).action(
    async (
      name: string,
      o: SaveFlags & {
        role: string;
        region?: string;
        duration?: string;
        externalId?: string;
        policy?: string;
        sourceProfile?: string;
        verify: boolean;
      },
    ) => {
      const aws = await import("../providers/aws/grant.js");
      const cfg = aws.validateAwsGrant({
        role: o.role,
        region: o.region,
        duration: o.duration,
        externalId: o.externalId,
        policyFile: o.policy,
        sourceProfile: o.sourceProfile,
      });
      // Fail before the vault is touched if the grant cannot work.
      const vault = new VaultService({ notice: info });
      await vault.requireUnlocked();
      if (o.verify) {
        const v = await aws.verifyAwsGrant(cfg);
        info(`verified: assumed ${v.assumedRoleArn} with ${v.source}`);
      }
      await save(name, { kind: "aws", ...cfg, createdAt: new Date().toISOString() }, o, vault);
    },
  );

  grant
    .command("ls")
    .description("list grants with their rung on the credential ladder")
    .option("--json", "print as JSON")
    .action(async (o: { json?: boolean }) => {
      const { GrantStore, RUNG, describeGrant } = await grantModules();
      const all = await new GrantStore(new VaultService({ notice: info })).list();
      if (o.json) {
        printJson(
          all.map(({ name, grant }) => ({
            name,
            rung: RUNG[grant.kind].rank,
            ladder: RUNG[grant.kind].label,
            ...grant,
          })),
        );
        return;
      }
      if (all.length === 0) {
        info("no grants; create one with `enclave grant http|aws|env NAME …`");
        return;
      }
      process.stdout.write(
        `${table(
          all.map(({ name, grant }) => [name, grant.kind, describeGrant(grant), RUNG[grant.kind].label]),
          ["NAME", "KIND", "FOR", "LADDER"],
        )}\n`,
      );
    });

  grant
    .command("show")
    .description("show one grant (configuration only: secret names, never values)")
    .argument("<name>", "grant name")
    .option("--json", "print as JSON")
    .action(async (name: string, o: { json?: boolean }) => {
      const { GrantStore, RUNG } = await grantModules();
      const g = await new GrantStore(new VaultService({ notice: info })).get(name);
      const out = { name, rung: RUNG[g.kind].rank, ladder: RUNG[g.kind].label, ...g };
      if (o.json) printJson(out);
      else
        process.stdout.write(
          `${Object.entries(out)
            .map(
              ([k, v]) =>
                `${k}: ${typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : JSON.stringify(v)}`,
            )
            .join("\n")}\n`,
        );
    });

  grant
    .command("rm")
    .description("remove a grant (its secrets stay in the vault)")
    .argument("<name>", "grant name")
    .option("--push", PUSH_HELP)
    .action(async (name: string, o: { push?: boolean }) => {
      const vault = new VaultService({ notice: info });
      const { GrantStore } = await grantModules();
      await new GrantStore(vault).remove(name);
      info(`removed grant ${name}`);
      await autoPush(vault, o.push);
    });
}
