/**
 * A remote in an S3 bucket (AWS or any S3-compatible store). Writes are conditional: `If-Match`
 * on the ETag this copy was based on, `If-None-Match: *` for the first push. History comes from
 * bucket versioning when it is on, otherwise from copies under `<key>.history/`.
 * Object metadata carries nothing but the content type: no secret names ever leave the machine.
 */
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { ConflictError, EnclaveError } from "../errors.js";
import {
  DEFAULT_HISTORY_RETENTION,
  historyCopyName,
  type Remote,
  type RemoteObject,
  type RemoteVersion,
} from "./remote.js";

export class S3Remote implements Remote {
  readonly url: string;
  private versioning: Promise<boolean> | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly retention = DEFAULT_HISTORY_RETENTION,
  ) {
    this.url = `s3://${bucket}/${key}`;
  }

  private get historyPrefix(): string {
    return `${this.key}.history/`;
  }

  private isVersioned(): Promise<boolean> {
    this.versioning ??= this.call("read the bucket's versioning", () =>
      this.s3.send(new GetBucketVersioningCommand({ Bucket: this.bucket })),
    ).then((r) => r.Status === "Enabled");
    return this.versioning;
  }

  async historyKind(): Promise<string> {
    return (await this.isVersioned()) ? "s3-versioning" : `s3://${this.bucket}/${this.historyPrefix}`;
  }

  async fetch(opts: { ifChanged?: string } = {}): Promise<RemoteObject | "unchanged" | undefined> {
    try {
      const r = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          ...(opts.ifChanged ? { IfNoneMatch: opts.ifChanged } : {}),
        }),
      );
      return { bytes: Buffer.from(await r.Body!.transformToByteArray()), etag: r.ETag ?? "" };
    } catch (e) {
      // No object yet is normal (before the first push); a missing bucket is a mistake to report.
      const status = e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
      if (status === 304) return "unchanged";
      if ((e as Error).name === "NoSuchKey" || (status === 404 && (e as Error).name !== "NoSuchBucket"))
        return undefined;
      throw this.explain(e, "download the vault");
    }
  }

  async put(bytes: Buffer, expected: string | null): Promise<string> {
    let etag: string;
    try {
      const r = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          Body: bytes,
          ContentType: "application/octet-stream",
          ...(expected === null ? { IfNoneMatch: "*" } : { IfMatch: expected }),
        }),
      );
      etag = r.ETag ?? "";
    } catch (e) {
      const status = e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
      // The object was deleted since we last saw it: creating it again overwrites nothing (and
      // If-None-Match still loses to anyone who re-created it first).
      if (expected !== null && (status === 404 || (e as Error).name === "NoSuchKey"))
        return this.put(bytes, null);
      // 412: the condition failed. 409: a concurrent conditional write to the same key won.
      if (status === 412 || status === 409 || (e as Error).name === "PreconditionFailed")
        throw new ConflictError(
          expected === null
            ? `${this.url} already exists (someone pushed first); run \`enclave pull\` first, then push`
            : `${this.url} changed since this copy was based on it; run \`enclave pull\` first, then push`,
        );
      throw this.explain(e, "upload the vault");
    }
    return etag;
  }

  async history(): Promise<RemoteVersion[]> {
    if (await this.isVersioned()) {
      const out: RemoteVersion[] = [];
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      do {
        const r = await this.call("list versions", () =>
          this.s3.send(
            new ListObjectVersionsCommand({
              Bucket: this.bucket,
              Prefix: this.key,
              KeyMarker,
              VersionIdMarker,
            }),
          ),
        );
        for (const v of r.Versions ?? [])
          if (v.Key === this.key && v.VersionId)
            out.push({
              id: v.VersionId,
              modified: v.LastModified?.toISOString() ?? "",
              size: v.Size ?? 0,
              current: v.IsLatest === true,
            });
        KeyMarker = r.IsTruncated ? r.NextKeyMarker : undefined;
        VersionIdMarker = r.IsTruncated ? r.NextVersionIdMarker : undefined;
      } while (KeyMarker);
      return out.sort((a, b) => b.modified.localeCompare(a.modified));
    }
    const copies = await this.listCopies();
    const current = await this.fetch();
    const tag = typeof current === "object" ? current.etag.replace(/"/g, "").slice(0, 12) : undefined;
    return copies.reverse().map((c, i) => ({
      id: c.name,
      modified: c.modified,
      size: c.size,
      current: i === 0 && tag !== undefined && c.name.endsWith(`-${tag}.enc`),
    }));
  }

  async fetchVersion(id: string): Promise<Buffer> {
    const versioned = await this.isVersioned();
    if (!versioned && (id.includes("/") || !id.endsWith(".enc")))
      throw new EnclaveError(
        `no version "${id}" under ${this.historyPrefix}; \`enclave history\` lists them`,
      );
    try {
      const r = await this.s3.send(
        new GetObjectCommand(
          versioned
            ? { Bucket: this.bucket, Key: this.key, VersionId: id }
            : { Bucket: this.bucket, Key: this.historyPrefix + id },
        ),
      );
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      const status = e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;
      if (
        status === 404 ||
        status === 400 ||
        (e as Error).name === "NoSuchVersion" ||
        (e as Error).name === "NoSuchKey"
      )
        throw new EnclaveError(`no version "${id}" of ${this.url}; \`enclave history\` lists them`);
      throw this.explain(e, "download that version");
    }
  }

  private async listCopies(): Promise<{ name: string; modified: string; size: number }[]> {
    const out: { name: string; modified: string; size: number }[] = [];
    let ContinuationToken: string | undefined;
    do {
      const r = await this.call("list history copies", () =>
        this.s3.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.historyPrefix, ContinuationToken }),
        ),
      );
      for (const o of r.Contents ?? [])
        if (o.Key?.endsWith(".enc"))
          out.push({
            name: o.Key.slice(this.historyPrefix.length),
            modified: o.LastModified?.toISOString() ?? "",
            size: o.Size ?? 0,
          });
      ContinuationToken = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (ContinuationToken);
    return out.sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Without bucket versioning, keep a copy of every pushed version (copied server-side, and only
   * if the object is still the version just pushed) and prune beyond the retention.
   */
  async keepHistory(_bytes: Buffer, etag: string): Promise<void> {
    if (await this.isVersioned()) return;
    const name = historyCopyName(new Date(), etag);
    await this.call("keep a history copy", () =>
      this.s3.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.historyPrefix + name,
          CopySource: `${this.bucket}/${encodeURIComponent(this.key).replace(/%2F/g, "/")}`,
          CopySourceIfMatch: etag,
        }),
      ),
    );
    const copies = await this.listCopies();
    const excess = copies.slice(0, Math.max(0, copies.length - this.retention));
    if (excess.length > 0)
      await this.call("prune history copies", () =>
        this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: excess.map((c) => ({ Key: this.historyPrefix + c.name })), Quiet: true },
          }),
        ),
      );
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.explain(e, what);
    }
  }

  /** Turn SDK errors into one line that says what failed and what to check. */
  private explain(e: unknown, what: string): EnclaveError {
    if (e instanceof EnclaveError) return e;
    const err = e as Error & { $metadata?: { httpStatusCode?: number } };
    const status = err.$metadata?.httpStatusCode;
    const hint =
      err.name === "CredentialsProviderError" || /credential|token/i.test(err.message)
        ? " — no usable AWS credentials: set a profile (--profile, AWS_PROFILE; `aws sso login` for IAM Identity Center) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        : status === 403
          ? " — access denied: check the credentials' permissions on this bucket"
          : err.name === "NoSuchBucket"
            ? ` — bucket ${this.bucket} does not exist`
            : "";
    return new EnclaveError(
      `cannot ${what} (${this.url}): ${err.name}${status ? ` ${status}` : ""}: ${err.message}${hint}`,
    );
  }
}
