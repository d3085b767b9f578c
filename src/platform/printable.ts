/**
 * Text from outside (repository paths, author names, hosts an agent chose) shown on the
 * operator's terminal: C0, DEL and C1 controls become \xNN, so the text cannot drive the terminal.
 */
export function printable(s: string | undefined): string {
  return Array.from(s ?? "", (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, "0")}` : c;
  }).join("");
}
