/**
 * Hidden terminal input, collected straight into a Buffer (a prompt library would hand us an
 * immutable JS string that can never be wiped). Echo is off because the terminal is in raw mode
 * and we print nothing for typed characters.
 */
import { EnclaveError, UsageError } from "../errors.js";
import { wipe } from "../secure/buffers.js";

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x7f;
const CTRL_H = 0x08;

export function stdinIsTerminal(): boolean {
  return Boolean(process.stdin.isTTY);
}

/**
 * Throw away whatever is already waiting on the terminal: keystrokes typed while a previous step
 * (a browser login) had the user's attention must not become the start of a passphrase.
 */
async function discardPendingInput(stdin: NodeJS.ReadStream, ms: number): Promise<void> {
  const drop = (chunk: Buffer) => wipe(chunk);
  stdin.on("data", drop);
  await new Promise((r) => setTimeout(r, ms));
  stdin.off("data", drop);
}

export async function readHidden(prompt: string, opts: { discardTypeAhead?: boolean } = {}): Promise<Buffer> {
  const stdin = process.stdin;
  if (!stdin.isTTY)
    throw new UsageError(
      "no terminal to prompt on; give the input through a file option or stdin (see --help)",
    );
  // Raw mode (no echo) before the prompt appears, so nothing typed after it is ever echoed.
  stdin.setRawMode(true);
  if (opts.discardTypeAhead) {
    stdin.resume();
    await discardPendingInput(stdin, 150);
  }
  process.stderr.write(prompt);
  let buf = Buffer.alloc(256);
  let len = 0;
  stdin.resume();
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        for (const byte of chunk) {
          if (byte === 0x0d || byte === 0x0a) {
            // Anything after the line end in this chunk is type-ahead: discarded (and wiped), never
            // carried into the next prompt.
            stdin.off("data", onData);
            wipe(chunk);
            const out = Buffer.from(buf.subarray(0, len));
            wipe(buf);
            resolve(out);
            return;
          }
          if (byte === CTRL_C || (byte === CTRL_D && len === 0)) {
            stdin.off("data", onData);
            wipe(buf);
            reject(new EnclaveError("cancelled; nothing was changed", 130));
            return;
          }
          if (byte === BACKSPACE || byte === CTRL_H) {
            // Drop one whole UTF-8 character: continuation bytes are 10xxxxxx.
            while (len > 0 && (buf[len - 1]! & 0xc0) === 0x80) len--;
            if (len > 0) len--;
            continue;
          }
          if (byte === CTRL_U) {
            buf.fill(0, 0, len);
            len = 0;
            continue;
          }
          if (len === buf.length) {
            const bigger = Buffer.alloc(buf.length * 2);
            buf.copy(bigger);
            wipe(buf);
            buf = bigger;
          }
          buf[len++] = byte;
        }
        wipe(chunk);
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}
