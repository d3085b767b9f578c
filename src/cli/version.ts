import { readFileSync } from "node:fs";

/** enclave's version, from package.json (two folders above dist/src/cli). */
export function enclaveVersion(): string {
  return (
    JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
}
