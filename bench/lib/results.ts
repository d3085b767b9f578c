/** A benchmark's JSON record (bench/results/*.json): when it was made, then what it measured. */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export function writeResults(file: string, results: object): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify(
      { generatedAt: new Date().toISOString(), ...results },
      // Two decimals are plenty for milliseconds and ratios; more digits are only noise.
      (_k, v) => (typeof v === "number" && !Number.isInteger(v) ? Math.round(v * 100) / 100 : v),
      2,
    )}\n`,
  );
}
