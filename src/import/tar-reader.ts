/**
 * Safe, in-memory reading of a tar archive: every regular file becomes a `{path, value}` pair held
 * in a Buffer, and nothing is ever written to a filesystem. Entries that would be dangerous to
 * extract — links, devices, absolute paths, paths with `..` — are skipped and reported, never
 * followed. Directories carry no data and are passed over silently.
 *
 * Parsing is done by tar-stream (ustar, pax and GNU long names); this module decides what each
 * entry is allowed to become.
 */
import { extract, type Header } from "tar-stream";
import { concatAndWipe, wipe } from "../secure/buffers.js";

export interface TarFile {
  /** The entry's name as stored in the archive (untrusted: quote it before printing). */
  entry: string;
  /** Normalised relative path: segments joined by "/", no "", "." or ".." segment. */
  path: string;
  value: Buffer;
}

export interface SkippedEntry {
  /** The entry's name as stored in the archive (untrusted: quote it before printing). */
  entry: string;
  reason: string;
}

export interface TarContents {
  files: TarFile[];
  skipped: SkippedEntry[];
  /** Normalised paths of the directory entries (used to recognise a top folder). */
  directories: string[];
}

/** A tar problem the caller maps to its own error (bad header, truncation, too many entries). */
export class TarReadError extends Error {}

/**
 * A tar path made relative and canonical, or why it cannot be used. Leading "./", empty and "."
 * segments are dropped (they name the same place); ".." and absolute paths are refused outright,
 * since in a real extraction they would write outside the target folder.
 */
export function normalizeEntryPath(name: string): { path: string } | { problem: string } {
  if (name.startsWith("/")) return { problem: "absolute path (would be written outside the folder)" };
  const segments = name.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) return { problem: "path contains '..' (would escape the folder)" };
  return { path: segments.join("/") };
}

/** Why an entry of this type is not imported, or undefined for a regular file or a directory. */
function typeProblem(h: Header): string | undefined {
  switch (h.type) {
    case "file":
    case "contiguous-file":
    case "directory":
      return undefined;
    case "symlink":
      return `symbolic link (to ${JSON.stringify(h.linkname ?? "")}); links are never followed`;
    case "link":
      return `hard link (to ${JSON.stringify(h.linkname ?? "")}); links are never followed`;
    case "character-device":
    case "block-device":
      return "device file; only regular files become secrets";
    case "fifo":
      return "named pipe; only regular files become secrets";
    default:
      return `unsupported entry type ${JSON.stringify(h.type ?? "unknown")}; only regular files become secrets`;
  }
}

/** Read an entry's data into one Buffer, wiping the pieces it came in. */
async function readEntryData(entry: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of entry) chunks.push(chunk as Buffer);
  } catch (e) {
    wipe(...chunks);
    throw e;
  }
  return concatAndWipe(chunks);
}

/** Consume and wipe an entry's data without keeping it. */
async function discardEntryData(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of entry) wipe(chunk as Buffer);
}

/**
 * Parse a tar archive given as Buffer chunks (in order). The chunks are not modified except that
 * file data copied out of them is wiped in place; the caller still wipes the chunks afterwards.
 * At most `maxEntries` entries of any kind are read; more is a TarReadError.
 */
export async function readTar(
  chunks: Iterable<Buffer>,
  limits: { maxEntries: number },
): Promise<TarContents> {
  const out: TarContents = { files: [], skipped: [], directories: [] };
  const parser = extract();
  // The data is already in memory: queue it all; tar-stream hands out entries as it parses.
  for (const c of chunks) parser.write(c);
  parser.end(undefined);
  let count = 0;
  try {
    for await (const entry of parser) {
      const h = entry.header;
      if (++count > limits.maxEntries)
        throw new TarReadError(`the archive has more than ${limits.maxEntries} entries`);
      const where = normalizeEntryPath(h.name);
      const problem = "problem" in where ? where.problem : typeProblem(h);
      if (problem || !("path" in where)) {
        out.skipped.push({ entry: h.name, reason: problem ?? "unusable path" });
        await discardEntryData(entry);
      } else if (h.type === "directory") {
        if (where.path !== "") out.directories.push(where.path);
        await discardEntryData(entry);
      } else if (where.path === "") {
        out.skipped.push({ entry: h.name, reason: "a file without a name" });
        await discardEntryData(entry);
      } else {
        out.files.push({ entry: h.name, path: where.path, value: await readEntryData(entry) });
      }
    }
  } catch (e) {
    parser.destroy();
    for (const f of out.files) wipe(f.value);
    if (e instanceof TarReadError) throw e;
    throw new TarReadError((e as Error).message);
  }
  return out;
}
