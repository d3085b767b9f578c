/**
 * The labelled scan corpus (test/scan/corpus/cases.json), for the rules test and bench/scan.
 * Texts may be stored in pieces ("parts") so that no stored string is a whole credential; see the
 * corpus README.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../helpers/cli.js";

export interface Case {
  rule: string | null;
  expect: "positive" | "negative";
  text?: string;
  /** the text in pieces, joined at run time */
  parts?: string[];
  note?: string;
}

export const CORPUS_FILE = join(REPO, "test/scan/corpus/cases.json");

/** The cases, checked for shape (a malformed corpus fails loudly, never silently shrinks). */
export function loadCorpus(): Case[] {
  const raw: unknown = JSON.parse(readFileSync(CORPUS_FILE, "utf8"));
  if (!Array.isArray(raw)) throw new Error(`${CORPUS_FILE}: expected an array of cases`);
  return raw.map((c: Case, i) => {
    if (c.expect !== "positive" && c.expect !== "negative")
      throw new Error(`${CORPUS_FILE}: case ${i}: expect must be "positive" or "negative"`);
    if (typeof c.text !== "string" && !Array.isArray(c.parts))
      throw new Error(`${CORPUS_FILE}: case ${i}: neither text nor parts`);
    return c;
  });
}

export const textOf = (c: Case): string => c.text ?? c.parts!.join("");
