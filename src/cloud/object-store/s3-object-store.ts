// S3 object store. Small bodies go up in one PutObject; large ones as a multipart upload
// (lib-storage), whose CompleteMultipartUpload carries the same If-None-Match / If-Match.

import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SwiftvrError } from '../../errors.js';
import {
  checkKey,
  PreconditionFailedError,
  toBytes,
  type ListedObject,
  type ObjectHead,
  type ObjectStore,
  type GetOptions,
  type PutOptions,
  type StoredObject,
} from './object-store.js';

export interface S3StoreOptions {
  readonly bucket: string;
  readonly client: S3Client;
  /** Bodies of at least this many bytes use a multipart upload. @default 16 MiB */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads (S3 minimum 5 MiB). @default 8 MiB */
  readonly partSize?: number;
}

/** Client settings for AWS or an S3-compatible endpoint on loopback (moto, MinIO). */
export function makeS3Client(opts: { region: string; endpoint?: string }): S3Client {
  const config: S3ClientConfig = { region: opts.region };
  if (opts.endpoint !== undefined) {
    config.endpoint = opts.endpoint;
    config.forcePathStyle = true;
  }
  return new S3Client(config);
}

const MiB = 1024 * 1024;

interface AwsErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const awsError = (e: unknown): AwsErrorShape => (typeof e === 'object' && e !== null ? (e as AwsErrorShape) : {});
const statusOf = (e: unknown): number | undefined => awsError(e).$metadata?.httpStatusCode;
const isNotFound = (e: unknown): boolean => {
  const a = awsError(e);
  return a.name === 'NoSuchKey' || a.name === 'NotFound' || statusOf(e) === 404;
};

export class S3ObjectStore implements ObjectStore {
  readonly name: string;
  readonly bucket: string;
  readonly client: S3Client;
  private readonly multipartThreshold: number;
  private readonly partSize: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.client = opts.client;
    this.name = `s3://${opts.bucket}`;
    this.partSize = opts.partSize ?? 8 * MiB;
    this.multipartThreshold = opts.multipartThreshold ?? 16 * MiB;
    if (this.partSize < 5 * MiB) {
      throw new SwiftvrError('bad-input', `partSize ${this.partSize} must be at least 5 MiB (the S3 minimum part size)`);
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject | undefined> {
    const r0 = options.range;
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: checkKey(key),
          ...(r0 === undefined ? {} : { Range: `bytes=${r0.offset}-${r0.offset + r0.length - 1}` }),
        }),
        options.signal === undefined ? {} : { abortSignal: options.signal },
      );
      const body = r.Body === undefined ? new Uint8Array() : await r.Body.transformToByteArray();
      return { body, etag: r.ETag ?? '', ...(r.ContentType === undefined ? {} : { contentType: r.ContentType }) };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.wrap(e, 'GetObject', key);
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }));
      return { etag: r.ETag ?? '', size: r.ContentLength ?? 0, lastModified: r.LastModified ?? new Date(0) };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.wrap(e, 'HeadObject', key);
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const bytes = toBytes(body);
    const input: PutObjectCommandInput = { Bucket: this.bucket, Key: checkKey(key), Body: bytes };
    if (options.contentType !== undefined) input.ContentType = options.contentType;
    if (options.cacheControl !== undefined) input.CacheControl = options.cacheControl;
    // Set with the object (PutObject / CreateMultipartUpload), never as a second request that a
    // crash could skip.
    const tags = Object.entries(options.tags ?? {});
    if (tags.length > 0) input.Tagging = tags.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const c = options.condition;
    if (c !== undefined) {
      if ('ifNoneMatch' in c) input.IfNoneMatch = '*';
      else input.IfMatch = c.ifMatch;
    }
    try {
      if (bytes.length >= this.multipartThreshold) {
        const upload = new Upload({ client: this.client, params: input, partSize: this.partSize, queueSize: 2, leavePartsOnError: false });
        const r = await upload.done();
        return { etag: r.ETag ?? '' };
      }
      const r = await this.client.send(new PutObjectCommand(input));
      return { etag: r.ETag ?? '' };
    } catch (e) {
      const status = statusOf(e);
      const name = awsError(e).name;
      if (c !== undefined && (status === 412 || name === 'PreconditionFailed' || (status === 404 && 'ifMatch' in c))) {
        throw new PreconditionFailedError(this.name, key, c, e);
      }
      // 409 ConditionalRequestConflict: a concurrent conditional write to the same key; retry.
      throw this.wrap(e, 'PutObject', key);
    }
  }

  async list(prefix: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
        );
      } catch (e) {
        throw this.wrap(e, 'ListObjectsV2', prefix);
      }
      for (const o of r.Contents ?? []) {
        if (o.Key !== undefined) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' });
      }
      token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: checkKey(key) }));
    } catch (e) {
      throw this.wrap(e, 'DeleteObject', key);
    }
  }

  private wrap(e: unknown, op: string, key: string): SwiftvrError {
    const status = statusOf(e);
    const name = awsError(e).name ?? 'Error';
    const retryable = status === undefined || status >= 500 || status === 409 || status === 429 || name === 'SlowDown';
    const message = e instanceof Error ? e.message : String(e);
    return new SwiftvrError(
      retryable ? 'transient' : 'internal',
      `${op} ${this.name}/${key} failed: ${name} (${status ?? 'no HTTP status'}): ${message}`,
      {
        cause: e,
        retryable,
        context: { uri: `${this.name}/${key}` },
      },
    );
  }
}
