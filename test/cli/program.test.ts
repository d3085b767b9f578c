/**
 * The command tree is built from the chosen command's group only: program.ts's table of which
 * group registers which command must match what each group's module really registers, or a
 * command would load the wrong group (and fall back to loading them all, slower).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildProgram, COMMAND_GROUPS, groupOf } from "../../src/cli/program.js";

const ARGV = ["node", "enclave"];
const names = (p: Awaited<ReturnType<typeof buildProgram>>) => p.commands.map((c) => c.name());

test("each group registers exactly the top-level commands the table gives it", async () => {
  for (const group of COMMAND_GROUPS)
    assert.deepEqual(names(await buildProgram(ARGV, [group])), group.commands, group.module);
});

test("the full program lists every group's commands, in the table's order, each once", async () => {
  const all = names(await buildProgram(ARGV));
  assert.deepEqual(
    all,
    COMMAND_GROUPS.flatMap((g) => g.commands),
  );
  assert.equal(new Set(all).size, all.length);
});

test("a command loads its own group; --version none; help, other options and unknown words every group", async () => {
  assert.deepEqual(names(await buildProgram([...ARGV, "scan", "."])), ["scan"]);
  assert.deepEqual(names(await buildProgram([...ARGV, "runs"])), ["audit", "runs"]);
  assert.equal(groupOf("remote")?.module, "sync");
  const every = COMMAND_GROUPS.flatMap((g) => g.commands);
  for (const argv of [[], ["--help"], ["help", "scan"], ["sacn"], ["--version", "scan"]])
    assert.deepEqual(names(await buildProgram([...ARGV, ...argv])), every, argv.join(" "));
  assert.deepEqual(names(await buildProgram([...ARGV, "--version"])), []);
});
