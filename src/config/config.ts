/**
 * config.yaml in ENCLAVE_HOME: settings only, never secret names or values (it is not encrypted).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import type * as Zod from "zod";
import { EnclaveError } from "../errors.js";
import { atomicWriteFile } from "../platform/atomic-write.js";

// zod and yaml cost ~110 ms to load; every command reads the config, most machines have none.
// They are loaded (synchronously, through their CommonJS builds) only when a config file exists.
const require = createRequire(import.meta.url);
const yaml = (): typeof Yaml => require("yaml");

function buildSchema(z: typeof Zod) {
  return z
    .object({
      version: z.literal(1).default(1),
      /** Where `push`/`pull` sync the vault (s3://bucket/key, a path or file:// URL). */
      remote: z.string().min(1).optional(),
      /** AWS settings for an s3:// remote; the SDK's standard sources fill in what is unset. */
      aws: z
        .object({
          region: z.string().min(1).optional(),
          profile: z.string().min(1).optional(),
          endpointUrl: z.string().url().optional(),
        })
        .strict()
        .optional(),
      /** Push after every change (set, rm, passwd, lock, import). */
      autoPush: z.boolean().optional(),
      /** History copies kept by a remote without native versioning. */
      historyRetention: z.number().int().min(1).max(10_000).optional(),
      /** `enclave scan`: gitignore-style paths to leave out, and the largest file scanned. */
      scan: z
        .object({
          exclude: z.array(z.string().min(1)).optional(),
          maxFileBytes: z.number().int().min(1).optional(),
        })
        .strict()
        .optional(),
      /** `enclave run`: more paths the sandbox hides from the child (credential stores of other tools). */
      run: z
        .object({
          hide: z.array(z.string().min(1)).optional(),
          /** Paths the sandboxed command may write besides its working directory (e.g. ~/.cache). */
          writable: z.array(z.string().min(1)).optional(),
        })
        .strict()
        .optional(),
      /** Default TTL for `unlock`, e.g. "8h". */
      unlockTtl: z.string().min(1).optional(),
    })
    .strict();
}

export type Config = Zod.infer<ReturnType<typeof buildSchema>>;

let schema: ReturnType<typeof buildSchema> | undefined;
export function configSchema(): ReturnType<typeof buildSchema> {
  schema ??= buildSchema(require("zod") as typeof Zod);
  return schema;
}

export function loadConfig(file: string): Config {
  if (!existsSync(file)) return { version: 1 };
  let raw: unknown;
  try {
    raw = yaml().parse(readFileSync(file, "utf8")) ?? {};
  } catch (e) {
    throw new EnclaveError(
      `config file ${file} is not valid YAML (${(e as Error).message.split("\n")[0]}); fix it or move it away`,
    );
  }
  const r = configSchema().safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
    throw new EnclaveError(`config file ${file} is invalid (${issues}); fix it or move it away`);
  }
  return r.data;
}

export function saveConfig(file: string, config: Config): void {
  atomicWriteFile(file, Buffer.from(yaml().stringify(configSchema().parse(config)), "utf8"));
}

/** `o` without its undefined entries (so an unset option never overrides a configured one). */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Record the remote (and the AWS settings given; unset ones keep their configured value) in
 * config.yaml. Used by `init --remote`, `remote set` and `bootstrap`.
 */
export function recordRemote(file: string, url: string, aws: NonNullable<Config["aws"]> = {}): void {
  const config = loadConfig(file);
  const merged = { ...config.aws, ...definedOnly(aws) };
  saveConfig(file, { ...config, remote: url, ...(Object.keys(merged).length ? { aws: merged } : {}) });
}
