/**
 * Where secret input comes from: a passphrase file (`-` = stdin), a hidden prompt, a value file,
 * or piped stdin. Never argv, never the environment.
 */
import { readFileSync, statSync } from "node:fs";
import { EnclaveError, UsageError } from "../errors.js";
import { concatAndWipe, constantTimeEqual, wipe } from "../secure/buffers.js";
import { readHidden, stdinIsTerminal } from "./prompt.js";

export async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return concatAndWipe(chunks);
}

/** The first line of a passphrase file or stdin, without its line ending; the rest is wiped. */
export function firstLine(b: Buffer): Buffer {
  const nl = b.indexOf(0x0a);
  if (nl < 0) return stripOneNewline(b);
  const out = stripOneNewline(Buffer.from(b.subarray(0, nl + 1)));
  wipe(b);
  return out;
}

/** Strip one trailing line ending, as left by `echo` or an editor. */
export function stripOneNewline(b: Buffer): Buffer {
  let end = b.length;
  if (end > 0 && b[end - 1] === 0x0a) end--;
  if (end > 0 && b[end - 1] === 0x0d) end--;
  if (end === b.length) return b;
  const out = Buffer.from(b.subarray(0, end));
  wipe(b);
  return out;
}

/** Read a file holding secret material; warn when other users can read it too. */
export function readFileForSecret(path: string, what: string, warn: (m: string) => void): Buffer {
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0 && st.isFile())
      warn(
        `warning: ${what} ${path} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    return readFileSync(path);
  } catch (e) {
    throw new EnclaveError(
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

export interface PassphraseSource {
  file?: string;
  prompt: string;
  /** Ask twice on a terminal (new passphrases). */
  confirm?: boolean;
  /** Drop keystrokes typed before the prompt appeared (bootstrap, after a login step). */
  discardTypeAhead?: boolean;
  warn: (m: string) => void;
}

export async function readPassphrase(src: PassphraseSource): Promise<Buffer> {
  let pass: Buffer;
  if (src.file === "-") pass = firstLine(await readAllStdin());
  else if (src.file) pass = firstLine(readFileForSecret(src.file, "passphrase file", src.warn));
  else {
    if (!stdinIsTerminal())
      throw new UsageError(
        "no terminal to ask for the passphrase; use --passphrase-file PATH (or - for stdin)",
      );
    pass = await readHidden(src.prompt, { discardTypeAhead: src.discardTypeAhead });
    if (src.confirm) {
      const again = await readHidden("Repeat the passphrase: ");
      const same = constantTimeEqual(pass, again);
      wipe(again);
      if (!same) {
        wipe(pass);
        throw new UsageError("the passphrases do not match; nothing was changed");
      }
    }
  }
  if (pass.length === 0) throw new UsageError("the passphrase is empty; nothing was changed");
  return pass;
}

/** Two passphrases from stdin (current on the first line, new on the second) for `passwd`. */
export async function readTwoLinesFromStdin(): Promise<[Buffer, Buffer]> {
  const all = await readAllStdin();
  const nl = all.indexOf(0x0a);
  if (nl < 0) {
    wipe(all);
    throw new UsageError("expected two lines on stdin: the current passphrase, then the new one");
  }
  const second = firstLine(Buffer.from(all.subarray(nl + 1)));
  return [firstLine(all), second];
}

/** A secret value: `--from-file`, else piped stdin, else a hidden prompt. Bytes are kept exactly. */
export async function readSecretValue(opts: {
  fromFile?: string;
  name: string;
  warn: (m: string) => void;
}): Promise<Buffer> {
  let value: Buffer;
  if (opts.fromFile === "-") value = await readAllStdin();
  else if (opts.fromFile) value = readFileForSecret(opts.fromFile, "file", () => undefined);
  else if (!stdinIsTerminal()) value = await readAllStdin();
  else value = await readHidden(`Value for ${opts.name} (hidden): `);
  if (value.length === 0) throw new UsageError(`the value for ${opts.name} is empty; nothing was changed`);
  return value;
}
