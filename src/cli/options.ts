/** Commander option helpers shared by the command groups. */

/** A repeatable option (`--host a --host b`) collected into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
