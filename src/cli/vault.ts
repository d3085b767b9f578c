/**
 * Vault commands: init, unlock, lock, status, set, get, ls, rm, passwd.
 * Parsing, prompts and output only; the work is done by VaultService.
 */
import { spawn } from "node:child_process";
import type { Command } from "commander";
import { parseDuration } from "../config/duration.js";
import { UsageError } from "../errors.js";
import { parseRemoteUrl } from "../remote/url.js";
import { constantTimeEqual, wipe } from "../secure/buffers.js";
import { parseKdfSpec } from "../vault/kdf.js";
import { reapWhenExpired } from "../vault/reaper.js";
import { VaultService } from "../vault/service.js";
import { readPassphrase, readSecretValue, readTwoLinesFromStdin } from "./input.js";
import { formatBytes, info, printJson, table } from "./output.js";
import { autoPush } from "./sync.js";

const service = () => new VaultService({ notice: info });

/** Start the detached expiry reaper for this session, unless one is already watching it. */
export function startReaper(svc: VaultService): void {
  if (svc.runtime.liveReaper()) return;
  // cwd "/" so the long-lived reaper keeps no directory (or mount) of the caller busy.
  const child = spawn(process.execPath, [process.argv[1]!, "_reap"], {
    detached: true,
    stdio: "ignore",
    cwd: "/",
  });
  if (child.pid) svc.runtime.recordReaper(child.pid);
  child.unref();
}

const PASSPHRASE_FILE_HELP =
  "read the passphrase from PATH (first line; - for stdin) instead of a hidden prompt";

export function registerVaultCommands(program: Command): void {
  program
    .command("init")
    .description("create a new, empty vault in ENCLAVE_HOME (refuses to overwrite one)")
    .option("--remote <url>", "remote to sync with later (s3://bucket/key, a path or file:// URL)")
    .option("--kdf <spec>", "key derivation: argon2id[:m=KiB,t=N,p=N] or scrypt[:ln=N,r=N,p=N]")
    .option("--passphrase-file <path>", PASSPHRASE_FILE_HELP)
    .option("--json", "print the result as JSON")
    .action(async (o: { remote?: string; kdf?: string; passphraseFile?: string; json?: boolean }) => {
      const svc = service();
      const kdf = o.kdf ? parseKdfSpec(o.kdf) : undefined;
      if (o.remote) parseRemoteUrl(o.remote); // a bad URL is a usage error before the passphrase prompt
      const pass = await readPassphrase({
        file: o.passphraseFile,
        prompt: "New passphrase: ",
        confirm: true,
        warn: info,
      });
      try {
        const r = await svc.init(pass, { kdf, remote: o.remote });
        if (o.json) printJson(r);
        else info(`created ${r.vaultFile} (${r.kdf}); next: enclave unlock`);
      } finally {
        wipe(pass);
      }
    });

  program
    .command("unlock")
    .description("decrypt the vault into the RAM runtime directory (one file per secret)")
    .option("--ttl <duration>", "lock automatically after this long (e.g. 30m, 8h)")
    .option("--link <dir>", "make a symlink at DIR pointing to the runtime directory (e.g. ~/secrets)")
    .option("--allow-disk", "accept a runtime directory that is not on tmpfs/ramfs (secrets reach the disk)")
    .option("--passphrase-file <path>", PASSPHRASE_FILE_HELP)
    .option("--json", "print the result as JSON")
    .action(
      async (o: {
        ttl?: string;
        link?: string;
        allowDisk?: boolean;
        passphraseFile?: string;
        json?: boolean;
      }) => {
        const svc = service();
        const ttlMs = o.ttl ? parseDuration(o.ttl, "--ttl") : undefined; // default: config.yaml, else 8h
        svc.requireInitialized(); // "no vault" (exit 6) before prompting
        const pass = await readPassphrase({ file: o.passphraseFile, prompt: "Passphrase: ", warn: info });
        try {
          const r = await svc.unlock(pass, { ttlMs, link: o.link, allowDisk: o.allowDisk });
          startReaper(svc);
          if (o.json) printJson(r);
          else if (r.alreadyUnlocked) info(`already unlocked; expiry extended to ${r.expiresAt}`);
          else info(`unlocked ${r.secrets} secret(s) into ${r.link ?? r.runtimeDir} until ${r.expiresAt}`);
        } finally {
          wipe(pass);
        }
      },
    );

  program
    .command("_reap", { hidden: true })
    .description("internal: wait for the session's expiry, then save pending edits and wipe it")
    .action(async () => {
      await reapWhenExpired(new VaultService());
    });

  program
    .command("lock")
    .description("save changes made in the runtime directory, then wipe and remove it")
    .option("--discard", "wipe without saving changes made in the runtime directory")
    .option("--push", "push the vault to its remote afterwards (default: autoPush in config.yaml)")
    .option("--no-push", "do not push, even with autoPush set")
    .option("--json", "print the result as JSON")
    .action(async (o: { discard?: boolean; json?: boolean; push?: boolean }) => {
      const svc = service();
      const r = await svc.lock({ discard: o.discard });
      if (r.added.length + r.changed.length + r.removed.length > 0) await autoPush(svc, o.push);
      if (o.json) return printJson(r);
      if (!r.wasUnlocked) return info("not unlocked; nothing to do");
      const saved = [
        ...r.added.map((n) => `added ${n}`),
        ...r.changed.map((n) => `changed ${n}`),
        ...r.removed.map((n) => `removed ${n}`),
      ];
      for (const line of saved) info(`saved: ${line}`);
      if (r.discarded.length) info(`discarded (dotfiles are never secrets): ${r.discarded.join(", ")}`);
      info("locked; the runtime directory was wiped");
    });

  program
    .command("status")
    .description("show whether a vault exists, whether it is unlocked, and where things are")
    .option("--json", "print the status as JSON")
    .action(async (o: { json?: boolean }) => {
      const s = await service().status();
      if (o.json) return printJson(s);
      const lines: [string, string][] = [
        ["vault", s.initialized ? s.vaultFile : `none (run enclave init; ENCLAVE_HOME=${s.home})`],
        ["state", !s.initialized ? "-" : s.unlocked ? `unlocked until ${s.expiresAt}` : "locked"],
        ["runtime dir", s.runtimeDir + (s.link ? ` (linked from ${s.link})` : "")],
        ["secrets", s.secrets === null ? (s.initialized ? "(unlock to count)" : "-") : String(s.secrets)],
        ["kdf", s.kdf ?? "-"],
        ["remote", s.remote ?? "(none)"],
      ];
      if (s.swapActive) lines.push(["warning", "swap is active"]);
      process.stdout.write(`${lines.map(([k, v]) => `${`${k}:`.padEnd(13)}${v}`).join("\n")}\n`);
    });

  program
    .command("set")
    .description("store a secret (value from a hidden prompt, --from-file, or piped stdin — never argv)")
    .argument("<name>", "secret name, e.g. github/token (becomes <runtimeDir>/github/token)")
    .option("--from-file <path>", "read the value from PATH (bytes kept exactly; - for stdin)")
    .option("--push", "push the vault to its remote afterwards (default: autoPush in config.yaml)")
    .option("--no-push", "do not push, even with autoPush set")
    .action(async (name: string, o: { fromFile?: string; push?: boolean }) => {
      const svc = service();
      await svc.requireUnlocked(); // fail fast (locked, no vault) before prompting for a value
      const value = await readSecretValue({ fromFile: o.fromFile, name, warn: info });
      const r = await svc.set(name, value);
      info(r.created ? `stored ${name}` : r.changed ? `updated ${name}` : `${name} unchanged`);
      if (r.changed) await autoPush(svc, o.push);
    });

  program
    .command("get")
    .description("print a secret's value (raw bytes) to stdout")
    .argument("<name>", "secret name")
    .action(async (name: string) => {
      const value = await service().get(name);
      try {
        await new Promise<void>((res, rej) => process.stdout.write(value, (e) => (e ? rej(e) : res())));
        if (process.stdout.isTTY && value.at(-1) !== 0x0a) process.stdout.write("\n");
      } finally {
        wipe(value);
      }
    });

  program
    .command("ls")
    .description("list secret names and metadata (never values)")
    .option("--json", "print the list as JSON")
    .action(async (o: { json?: boolean }) => {
      const list = await service().list();
      if (o.json) return printJson(list);
      if (list.length === 0) return info("no secrets yet; add one with: enclave set NAME");
      process.stdout.write(
        `${table(
          list.map((s) => [s.name, formatBytes(s.size), s.updatedAt]),
          ["NAME", "SIZE", "UPDATED"],
        )}\n`,
      );
    });

  program
    .command("rm")
    .description("delete a secret from the vault and the runtime directory")
    .argument("<name>", "secret name")
    .option("--push", "push the vault to its remote afterwards (default: autoPush in config.yaml)")
    .option("--no-push", "do not push, even with autoPush set")
    .action(async (name: string, o: { push?: boolean }) => {
      const svc = service();
      await svc.remove(name);
      info(`removed ${name}`);
      await autoPush(svc, o.push);
    });

  program
    .command("passwd")
    .description("re-encrypt the vault under a new passphrase (needs the current one too)")
    .option("--passphrase-file <path>", "read the current passphrase from PATH (- for stdin)")
    .option(
      "--new-passphrase-file <path>",
      "read the new passphrase from PATH (- for stdin; both - = two lines)",
    )
    .option("--kdf <spec>", "also change the key derivation parameters")
    .option("--push", "push the vault to its remote afterwards (default: autoPush in config.yaml)")
    .option("--no-push", "do not push, even with autoPush set")
    .action(
      async (o: { passphraseFile?: string; newPassphraseFile?: string; kdf?: string; push?: boolean }) => {
        const svc = service();
        const kdf = o.kdf ? parseKdfSpec(o.kdf) : undefined;
        await svc.requireUnlocked(); // fail fast before prompting
        let current: Buffer;
        let next: Buffer;
        if (o.passphraseFile === "-" && o.newPassphraseFile === "-")
          [current, next] = await readTwoLinesFromStdin();
        else {
          current = await readPassphrase({
            file: o.passphraseFile,
            prompt: "Current passphrase: ",
            warn: info,
          });
          next = await readPassphrase({
            file: o.newPassphraseFile,
            prompt: "New passphrase: ",
            confirm: true,
            warn: info,
          });
        }
        try {
          if (constantTimeEqual(current, next))
            throw new UsageError("the new passphrase is the same as the current one; nothing was changed");
          const r = await svc.passwd(current, next, kdf);
          info(`passphrase changed (${r.kdf})`);
          await autoPush(svc, o.push);
        } finally {
          wipe(current, next);
        }
      },
    );
}
