/**
 * Shannon entropy of a string, in bits per character (UTF-16 code unit): 0 for "" or a single repeated
 * character, log2(n) at most for n distinct characters. Random base64 of length 40 scores about 4.7,
 * random hex of length 32 about 3.8, English words and identifiers about 3–3.6.
 */
export function shannonEntropy(s: string): number {
  const n = s.length;
  if (n <= 1) return 0;
  const ascii = new Uint32Array(128);
  let other: Map<number, number> | undefined;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) ascii[c]!++;
    else {
      other ??= new Map();
      other.set(c, (other.get(c) ?? 0) + 1);
    }
  }
  let h = 0;
  const add = (count: number): void => {
    const p = count / n;
    h -= p * Math.log2(p);
  };
  for (let c = 0; c < 128; c++) if (ascii[c]! > 0) add(ascii[c]!);
  if (other) for (const count of other.values()) add(count);
  return h;
}
