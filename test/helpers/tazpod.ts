/**
 * Build TazPod vault files (vault.tar.aes) the way TazPod does (its internal/crypto/crypto.go):
 * salt[32] | nonce[12] | AES-256-GCM(PBKDF2-HMAC-SHA256(pass, salt, 100k, 32), gzip(tar)) | tag[16].
 * Entries can be hostile (traversal, links, devices) or huge (streamed zeros, never held whole).
 */
import { createCipheriv, pbkdf2Sync, randomBytes } from "node:crypto";
import { createGzip } from "node:zlib";
import { type Header, pack } from "tar-stream";

export const TAZPOD_PASSPHRASE = "tazpod passphrase, only in my head";

export interface FixtureEntry {
  name: string;
  type?: Header["type"];
  content?: string | Buffer;
  linkname?: string;
  /** Instead of content: this many zero bytes, streamed (for decompression bombs). */
  zeros?: number;
  mode?: number;
}

/** gzip(tar(entries)). */
export async function tarGz(entries: FixtureEntry[]): Promise<Buffer> {
  const p = pack();
  const gz = createGzip({ level: 1 });
  const out: Buffer[] = [];
  gz.on("data", (c: Buffer) => out.push(c));
  const ended = new Promise<void>((res, rej) => {
    gz.on("end", res);
    gz.on("error", rej);
  });
  p.pipe(gz);
  for (const e of entries) await addEntry(p, e);
  p.finalize();
  await ended;
  return Buffer.concat(out);
}

async function addEntry(p: ReturnType<typeof pack>, e: FixtureEntry): Promise<void> {
  const header = {
    name: e.name,
    type: e.type ?? "file",
    mode: e.mode ?? 0o600,
    ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
  };
  if (e.zeros === undefined) {
    const body = header.type === "file" ? Buffer.from(e.content ?? "") : Buffer.alloc(0);
    await new Promise<void>((res, rej) => p.entry(header, body, (err) => (err ? rej(err) : res())));
    return;
  }
  let sink!: ReturnType<typeof p.entry>;
  const done = new Promise<void>((res, rej) => {
    sink = p.entry({ ...header, size: e.zeros }, (err) => (err ? rej(err) : res()));
  });
  const block = Buffer.alloc(1024 * 1024);
  for (let left = e.zeros; left > 0; left -= block.length) {
    const piece = left >= block.length ? block : block.subarray(0, left);
    if (!sink.write(piece)) await new Promise<void>((res) => sink.once("drain", () => res()));
  }
  sink.end(undefined);
  await done;
}

/** TazPod's Encrypt(): a fresh salt and nonce for every call. */
export function tazpodEncrypt(plaintext: Buffer, passphrase: string | Buffer = TAZPOD_PASSPHRASE): Buffer {
  const salt = randomBytes(32);
  const nonce = randomBytes(12);
  const key = pbkdf2Sync(Buffer.from(passphrase), salt, 100_000, 32, "sha256");
  const c = createCipheriv("aes-256-gcm", key, nonce);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([salt, nonce, body, c.getAuthTag()]);
}

export async function makeTazpodFile(
  entries: FixtureEntry[],
  passphrase: string | Buffer = TAZPOD_PASSPHRASE,
): Promise<Buffer> {
  return tazpodEncrypt(await tarGz(entries), passphrase);
}

/** The hostile entries every import must skip (and report) without touching anything. */
export const HOSTILE_ENTRIES: FixtureEntry[] = [
  { name: "../escape", content: "escaped-value" },
  { name: "a/../../escape2", content: "escaped-value" },
  { name: "/etc/cron.d/evil", content: "* * * * * root sh" },
  { name: "passwd-link", type: "symlink", linkname: "/etc/passwd" },
  { name: "hard-link", type: "link", linkname: "github/token" },
  { name: "dev-null", type: "character-device" },
  { name: "pipe", type: "fifo" },
  { name: ".vault_pass", content: TAZPOD_PASSPHRASE },
  { name: ".aws/config", content: "[default]\nregion = eu-west-1\n" },
  { name: "has space", content: "bad name" },
  { name: "empty", content: "" },
];
