/**
 * Shamir commands: `shamir split` and `shamir combine`. Parsing, input, output and exit codes
 * only; the scheme (forms, integrity tag, checks) lives in src/shamir/.
 *
 * Exit codes: 2 when the command line is wrong (option values, no shares, empty secret), 1 when
 * the shares are (malformed, inconsistent, too few, failing the integrity check), 6 when a vault
 * secret is involved and the vault is locked or missing.
 */
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { wipe } from "../secure/buffers.js";
import { decodeLine, SHARE_FORMS, type ShareForm, shareLines, wipeDecoded } from "../shamir/encoding.js";
import {
  type CombineResult,
  combineShareLines,
  type ShareLine,
  type SplitResult,
  splitSecret,
  wipeSplit,
} from "../shamir/scheme.js";
import { assertSecretSize, assertSplitParameters, MAX_SHARES, ShareError } from "../shamir/shares.js";
import { assertValidName } from "../vault/names.js";
import { VaultService } from "../vault/service.js";
import { readAllStdin, readFileForSecret } from "./input.js";
import { collect } from "./options.js";
import { info } from "./output.js";
import { readHidden, stdinIsTerminal } from "./prompt.js";

const service = () => new VaultService({ notice: info });

function wholeNumber(value: string, flag: string): number {
  if (!/^\d{1,3}$/.test(value)) throw new UsageError(`${flag} must be a whole number (got "${value}")`);
  return Number(value);
}

function writeOut(b: Buffer): Promise<void> {
  return new Promise((res, rej) => process.stdout.write(b, (e) => (e ? rej(e) : res())));
}

/** The JSON listing, assembled from Buffers so the share text never becomes a (unwipeable) string. */
function splitJson(r: SplitResult): Buffer[] {
  const meta = JSON.stringify(
    {
      format: r.form,
      threshold: r.threshold,
      count: r.count,
      splitId: r.splitId,
      secretBytes: r.secretBytes,
    },
    null,
    2,
  );
  const parts: Buffer[] = [Buffer.from(`${meta.slice(0, -2)},\n  "shares": [\n`)];
  r.shares.forEach((s, i) => {
    // Share text is [A-Za-z0-9+/=:-] only: nothing to escape.
    parts.push(Buffer.from(`    { "index": ${s.index}, "x": ${s.x}, "share": "`), s.line);
    parts.push(Buffer.from(i + 1 < r.shares.length ? `" },\n` : `" }\n`));
  });
  parts.push(Buffer.from("  ]\n}\n"));
  return parts;
}

async function readSecretToSplit(name: string | undefined): Promise<Buffer> {
  if (name) return service().get(name); // exit 6 when locked or no vault
  if (stdinIsTerminal()) return readHidden("Secret to split (hidden): ");
  return readAllStdin(); // bytes kept exactly, like `enclave set`
}

function readShareFile(path: string): Buffer {
  return readFileForSecret(path, "share file", info);
}

/** Every share line of one source, labelled for messages ("share file a.txt line 2"). */
function linesOf(source: string, text: Buffer): ShareLine[] {
  const lines = shareLines(text);
  if (lines.length === 0) throw new ShareError(`${source}: no share in it`);
  return lines.map((l) => ({
    label: lines.length === 1 ? source : `${source} line ${l.lineNo}`,
    line: l.line,
  }));
}

/** On a terminal: one hidden prompt per share, until K (known from enclave shares or --threshold) or an empty line. */
async function promptShares(form: ShareForm | "auto", threshold: number | undefined): Promise<Buffer[]> {
  info("Type or paste the shares, one per prompt (input is hidden); an empty line finishes.");
  const typed: Buffer[] = [];
  let needed = threshold;
  try {
    while (typed.length < MAX_SHARES && (needed === undefined || typed.length < needed)) {
      const n = typed.length + 1;
      const raw = await readHidden(needed ? `Share ${n} of ${needed}: ` : `Share ${n}: `);
      const line = shareLines(raw)[0]?.line;
      if (!line) {
        wipe(raw);
        if (typed.length >= 2) break;
        info("at least 2 shares are needed (Ctrl-C cancels)");
        continue;
      }
      try {
        const d = decodeLine(line, form, `share ${n}`);
        if (d.kind === "enclave") needed = d.threshold;
        wipeDecoded(d);
        typed.push(raw);
      } catch (e) {
        wipe(raw);
        if (!(e instanceof ShareError)) throw e;
        info(`${e.message}. Type it again`);
      }
    }
    return typed;
  } catch (e) {
    wipe(...typed);
    throw e;
  }
}

/**
 * Gather the share lines: --share-file (- is stdin), --from-secret, else stdin, else (terminal)
 * hidden prompts. Every Buffer read is pushed to `texts` for the caller to wipe; lines are views into them.
 */
async function readShareSources(
  o: { shareFile: string[]; fromSecret: string[] },
  svc: VaultService,
  form: ShareForm | "auto",
  threshold: number | undefined,
  texts: Buffer[],
): Promise<ShareLine[]> {
  const lines: ShareLine[] = [];
  const add = (source: string, text: Buffer) => {
    texts.push(text);
    lines.push(...linesOf(source, text));
  };
  let stdinRead = false;
  for (const path of o.shareFile) {
    if (path !== "-") add(`share file ${path}`, readShareFile(path));
    else if (!stdinRead) {
      stdinRead = true;
      add("stdin", await readAllStdin());
    }
  }
  for (const name of o.fromSecret) add(`secret ${name}`, await svc.get(name));
  if (o.shareFile.length > 0 || o.fromSecret.length > 0) return lines;
  if (stdinIsTerminal()) {
    for (const typed of await promptShares(form, threshold)) {
      texts.push(typed);
      lines.push({ label: `share ${lines.length + 1}`, line: shareLines(typed)[0]!.line });
    }
    return lines;
  }
  const text = await readAllStdin();
  texts.push(text);
  if (shareLines(text).length === 0)
    throw new UsageError(
      "no shares on stdin: pipe them one per line, or use --share-file PATH / --from-secret NAME",
    );
  return linesOf("stdin", text);
}

function reportCombine(r: CombineResult): void {
  if (r.readAsHexAmbiguous)
    info(
      "note: every share was valid as hex and as base64; they were read as hex (--format base64 to override)",
    );
  if (r.rejected.length > 0)
    info(
      `warning: left out ${r.rejected.join(", ")}: they do not fit the verified secret (corrupted or edited); ` +
        "the secret was verified from the others",
    );
  if (r.verified) info(`combined ${r.used} shares (threshold ${r.threshold}); integrity verified`);
  else
    info(
      `combined ${r.used} raw shares; NOT verified: raw (base64/hex) shares carry no integrity check, ` +
        "so wrong shares of the right length give wrong bytes without an error" +
        (r.extrasAgree ? ` (the shares beyond --threshold ${r.threshold} agree with the others)` : ""),
    );
}

export function registerShamirCommands(program: Command): void {
  const shamir = program
    .command("shamir")
    .description("split a secret into k-of-n Shamir shares and combine them (Vault/OpenBao compatible)");

  shamir
    .command("split")
    .description(
      "split a secret (stdin, a hidden prompt, or --secret NAME) into shares, one per line on stdout",
    )
    .requiredOption("--shares <n>", "how many shares to make (2-255)")
    .requiredOption("--threshold <k>", "how many shares rebuild the secret (2 to --shares)")
    .option("--secret <name>", "split this vault secret (the vault must be unlocked)")
    .option(
      "--format <form>",
      "enclave (verifiable), base64 or hex (raw Vault/OpenBao unseal-key shares)",
      "enclave",
    )
    .option("--json", "print the shares as JSON")
    .action(
      async (o: { shares: string; threshold: string; secret?: string; format: string; json?: boolean }) => {
        const n = wholeNumber(o.shares, "--shares");
        const k = wholeNumber(o.threshold, "--threshold");
        assertSplitParameters(n, k);
        if (!(SHARE_FORMS as readonly string[]).includes(o.format))
          throw new UsageError(`--format must be one of ${SHARE_FORMS.join(", ")} (got "${o.format}")`);
        const secret = await readSecretToSplit(o.secret);
        let r: SplitResult;
        try {
          assertSecretSize(secret.length);
          r = await splitSecret(secret, { shares: n, threshold: k, form: o.format as ShareForm });
        } finally {
          wipe(secret);
        }
        try {
          if (process.stdout.isTTY)
            info(
              `warning: the ${n} lines below are secrets: any ${k} of them rebuild the secret. ` +
                "Hand each to a different holder, then clear this terminal",
            );
          const out = Buffer.concat(
            o.json ? splitJson(r) : r.shares.flatMap((s) => [s.line, Buffer.from("\n")]),
          );
          try {
            await writeOut(out);
          } finally {
            wipe(out);
          }
          info(
            `split into ${n} shares; any ${k} rebuild the secret` +
              (r.splitId ? ` (split id ${r.splitId})` : " (raw shares: combine cannot verify them)"),
          );
        } finally {
          wipeSplit(r);
        }
      },
    );

  shamir
    .command("combine")
    .description(
      "rebuild a secret from shares (enclave, base64 or hex; one per line) given on stdin, in files or in vault secrets",
    )
    .option("--share-file <path>", "read shares from PATH, one per line (repeatable; - for stdin)", collect)
    .option("--from-secret <name>", "read shares from this vault secret (repeatable)", collect)
    .option("--to-secret <name>", "store the secret in the vault under NAME instead of printing it")
    .option("--threshold <k>", "for raw shares: refuse fewer than K, and check that extra shares agree")
    .option("--format <form>", "read every share as this form: auto, enclave, base64 or hex", "auto")
    .action(
      async (opts: {
        shareFile?: string[];
        fromSecret?: string[];
        toSecret?: string;
        threshold?: string;
        format: string;
      }) => {
        const o = { ...opts, shareFile: opts.shareFile ?? [], fromSecret: opts.fromSecret ?? [] };
        if (o.format !== "auto" && !(SHARE_FORMS as readonly string[]).includes(o.format))
          throw new UsageError(`--format must be auto, ${SHARE_FORMS.join(", ")} (got "${o.format}")`);
        const form = o.format as ShareForm | "auto";
        const threshold = o.threshold === undefined ? undefined : wholeNumber(o.threshold, "--threshold");
        if (threshold !== undefined && (threshold < 2 || threshold > MAX_SHARES))
          throw new UsageError(`--threshold must be a whole number from 2 to ${MAX_SHARES}`);
        if (o.toSecret) assertValidName(o.toSecret); // a bad name fails before any share is typed
        if (o.shareFile.includes("-") && stdinIsTerminal())
          throw new UsageError(
            "--share-file - reads stdin, which is a terminal here (it would echo the shares); " +
              "give no --share-file/--from-secret to be asked for each share, hidden",
          );
        const svc = service();
        if (o.toSecret || o.fromSecret.length > 0) await svc.requireUnlocked(); // exit 6 before reading anything

        const texts: Buffer[] = []; // everything read, wiped at the end whatever happens
        try {
          const lines = await readShareSources(o, svc, form, threshold, texts);
          const r = await combineShareLines(lines, { form, threshold });
          reportCombine(r);
          if (o.toSecret) {
            const s = await svc.set(o.toSecret, r.secret); // takes ownership of the secret and wipes it
            info(
              s.created
                ? `stored ${o.toSecret}`
                : s.changed
                  ? `updated ${o.toSecret}`
                  : `${o.toSecret} unchanged`,
            );
            return;
          }
          try {
            await writeOut(r.secret);
            if (process.stdout.isTTY && r.secret.at(-1) !== 0x0a) process.stdout.write("\n");
          } finally {
            wipe(r.secret);
          }
        } finally {
          wipe(...texts);
        }
      },
    );
}
