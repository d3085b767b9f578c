/**
 * Drive the built CLI on a real pseudo-terminal (util-linux `script`), as a person at a keyboard
 * would: answer each prompt as it appears, optionally with keys typed before any prompt.
 */
import { spawn } from "node:child_process";
import { CLI, type Sandbox } from "./cli.js";

/** Run the CLI on a pty; answer each prompt (matched in the output) with the next line, in turn. */
export function onTerminal(
  sb: Sandbox,
  args: string[],
  answers: [RegExp, string][],
  /** Typed at once, before any prompt: keystrokes made during an earlier step. */
  typeAhead?: string,
): Promise<{ code: number | null; screen: string }> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
  const child = spawn("script", ["-qefc", cmd, "/dev/null"], { env: { ...sb.env, TERM: "dumb" } });
  let screen = "";
  let next = 0;
  const onOutput = (d: Buffer) => {
    screen += d.toString();
    const a = answers[next];
    if (a?.[0].test(screen.slice(screen.lastIndexOf("\n", screen.length - 2) + 1))) {
      next++;
      setTimeout(() => child.stdin.write(`${a[1]}\r`), 50);
    }
  };
  if (typeAhead) child.stdin.write(typeAhead);
  child.stdout.on("data", onOutput);
  child.stderr.on("data", onOutput);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((res) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      res({ code, screen });
    }),
  );
}
