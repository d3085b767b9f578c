/**
 * commander, loaded through `require`: it is a CommonJS package, and importing it as ESM first
 * scans its source for export names (cjs-module-lexer) — ~2.5 ms more on every command's start-up
 * (medians of 21 runs of `enclave scan` on an empty folder, 75.9 ms against 73.2).
 */
import { createRequire } from "node:module";
import type * as Commander from "commander";

const commander = createRequire(import.meta.url)("commander") as typeof Commander;

export const Command = commander.Command;
export type Command = Commander.Command;
export const CommanderError = commander.CommanderError;
export type CommanderError = Commander.CommanderError;
export const Option = commander.Option;
export type Option = Commander.Option;
