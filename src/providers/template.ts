/**
 * Header templates: `Bearer {{secret github/token}}`. A template is text with references to
 * secrets; it is stored in the grant (no value), and rendered at run time from the open vault.
 */
import { UsageError } from "../errors.js";
import { nameProblem } from "../vault/names.js";

export type TemplatePart = { text: string } | { secret: string };

const REF = /\{\{\s*secret\s+([^\s{}]+)\s*\}\}/g;

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of template.matchAll(REF)) {
    const problem = nameProblem(m[1]!);
    if (problem) throw new UsageError(`invalid secret reference "${m[0]}": ${problem}`);
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    parts.push({ secret: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  const rest = parts.filter((p): p is { text: string } => "text" in p).map((p) => p.text);
  if (rest.some((t) => t.includes("{{") || t.includes("}}")))
    throw new UsageError(
      `template "${template}" has a malformed reference; write it as {{secret NAME}}, e.g. 'Bearer {{secret github/token}}'`,
    );
  return parts;
}

export function secretsOf(template: string): string[] {
  return parseTemplate(template).flatMap((p) => ("secret" in p ? [p.secret] : []));
}

/** The rendered bytes; `lookup` returns the value for a name (the caller owns both). */
export function renderTemplate(template: string, lookup: (name: string) => Buffer): Buffer {
  const bufs = parseTemplate(template).map((p) => ("secret" in p ? lookup(p.secret) : Buffer.from(p.text)));
  return Buffer.concat(bufs);
}
