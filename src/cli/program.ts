/**
 * The command tree. Each command group's module (and the libraries it imports: the vault service,
 * argon2, the Shamir and sync code…) is loaded only when needed: a command names its group in
 * argv[2], so `enclave scan …` loads commander and cli/scan.ts, not the other eight groups.
 * `enclave --version` loads none. Anything else (`enclave --help`, `enclave help …`, no command, an
 * unknown or misspelt command) loads every group, so help lists every command and commander's suggestions see them all.
 */
import { Command } from "./commander.js";
import { enclaveVersion } from "./version.js";

type Register = (program: Command) => void;

export interface CommandGroup {
  /** The module that registers the group (for messages and tests). */
  module: string;
  /** The top-level commands it registers (hidden ones too). */
  commands: readonly string[];
  load(): Promise<Register>;
}

/** In the order `enclave --help` lists them. test/cli/program.test.ts checks the names. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  {
    module: "vault",
    commands: ["init", "unlock", "_reap", "lock", "status", "set", "get", "ls", "rm", "passwd"],
    load: async () => (await import("./vault.js")).registerVaultCommands,
  },
  {
    module: "sync",
    commands: ["remote", "push", "pull", "history", "restore"],
    load: async () => (await import("./sync.js")).registerSyncCommands,
  },
  {
    module: "bootstrap",
    commands: ["bootstrap"],
    load: async () => (await import("./bootstrap.js")).registerBootstrapCommand,
  },
  {
    module: "import",
    commands: ["import"],
    load: async () => (await import("./import.js")).registerImportCommands,
  },
  {
    module: "shamir",
    commands: ["shamir"],
    load: async () => (await import("./shamir.js")).registerShamirCommands,
  },
  { module: "scan", commands: ["scan"], load: async () => (await import("./scan.js")).registerScanCommand },
  {
    module: "grant",
    commands: ["grant"],
    load: async () => (await import("./grant.js")).registerGrantCommands,
  },
  { module: "run", commands: ["run"], load: async () => (await import("./run.js")).registerRunCommand },
  {
    module: "audit",
    commands: ["audit", "runs"],
    load: async () => (await import("./audit.js")).registerAuditCommands,
  },
  { module: "main", commands: ["_aws-credentials"], load: async () => registerAwsCredentialsHelper },
];

/** A run's credential_process helper (also runnable as node …/credential-process.js, faster). */
function registerAwsCredentialsHelper(program: Command): void {
  program
    .command("_aws-credentials", { hidden: true })
    .allowUnknownOption()
    .argument("[args...]")
    .action(async (args: string[]) => {
      const cp = await import("../providers/aws/credential-process.js");
      process.exitCode = await cp.credentialProcessMain(cp.parseCredentialProcessArgs(args));
    });
}

/** The group that registers command `name`, if one does. */
export function groupOf(name: string | undefined): CommandGroup | undefined {
  return name === undefined ? undefined : COMMAND_GROUPS.find((g) => g.commands.includes(name));
}

/** The groups `argv` needs: none for the version alone, its command's group, or every group. */
function groupsFor(argv: readonly string[]): readonly CommandGroup[] {
  const word = argv[2];
  if (argv.length === 3 && (word === "--version" || word === "-V")) return [];
  const group = groupOf(word);
  return group ? [group] : COMMAND_GROUPS;
}

/**
 * The program for `argv` (process.argv: node, script, then the user's words): with only the group
 * of the command in argv[2] when it names one, else with every group. `groups` forces a choice.
 */
export async function buildProgram(
  argv: readonly string[],
  groups: readonly CommandGroup[] = groupsFor(argv),
): Promise<Command> {
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
  // Subcommands inherit exitOverride and the help settings. The modules load in parallel; they
  // register in the list's order.
  for (const register of await Promise.all(groups.map((g) => g.load()))) register(program);
  return program;
}
