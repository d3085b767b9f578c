import { UsageError } from "../errors.js";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse "90s", "15m", "8h", "1d", "1h30m" into milliseconds. */
export function parseDuration(text: string, what = "duration"): number {
  const t = text.trim();
  if (!/^(\d+[smhd])+$/.test(t))
    throw new UsageError(`${what}: "${text}" is not a duration; use e.g. 30m, 8h, 1h30m, 2d`);
  let ms = 0;
  for (const [, n, u] of t.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[u!]!;
  if (ms <= 0) throw new UsageError(`${what} must be longer than zero`);
  return ms;
}

export function formatDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms / 1000));
  for (const [u, s] of [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (rest >= s) {
      parts.push(`${Math.floor(rest / s)}${u}`);
      rest %= s;
    }
  }
  return parts.join("") || "0s";
}
