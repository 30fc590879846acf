// Object store boundary: S3 in the cloud, the filesystem in the embedded default.
// Conditional writes are what make publishing idempotent: segments and checkpoints of a
// finished segment are created once (If-None-Match: *), playlists are replaced only by a
// writer that read the current version (If-Match: ETag).

import { SwiftvrError } from '../../errors.js';

export interface StoredObject {
  readonly body: Uint8Array;
  /** Quoted entity tag, as S3 returns it. */
  readonly etag: string;
  readonly contentType?: string;
}

export interface ObjectHead {
  readonly etag: string;
  readonly size: number;
  readonly lastModified: Date;
}

/** One write condition; a union so that "both" cannot be asked for. */
export type WriteCondition =
  /** Create only: fails if the key exists. */
  | { readonly ifNoneMatch: '*' }
  /** Replace only the version read before: fails if the key changed or is gone. */
  | { readonly ifMatch: string };

export interface GetOptions {
  readonly range?: { readonly offset: number; readonly length: number };
  readonly signal?: AbortSignal;
}

export interface PutOptions {
  readonly condition?: WriteCondition;
  readonly contentType?: string;
  readonly cacheControl?: string;
  /**
   * Object tags (S3: the PutObject `Tagging` header, so bucket lifecycle rules can select the
   * object). The filesystem store has no tags and ignores them.
   */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  /** S3 lists it; the filesystem store leaves it out (it would have to read every file). */
  readonly etag?: string;
}

/** A bucket (or directory) of objects addressed by `/`-separated keys. */
export interface ObjectStore {
  /** Human-readable name for messages, e.g. `s3://bucket` or a directory path. */
  readonly name: string;
  /**
   * The bucket as playlists name it (`s3://<bucket>/...`): the S3 bucket, or the name a
   * filesystem store answers to. URI policy checks compare against it.
   */
  readonly bucket: string;
  /** The object (or the byte range of it), or undefined when the key does not exist. */
  get(key: string, options?: GetOptions): Promise<StoredObject | undefined>;
  head(key: string): Promise<ObjectHead | undefined>;
  /** Writes the object; throws PreconditionFailedError when the condition does not hold. */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ readonly etag: string }>;
  /** All keys that start with `prefix`, in lexicographic order. */
  list(prefix: string): Promise<ListedObject[]>;
  delete(key: string): Promise<void>;
}

/** A conditional write lost: another writer created or changed the object first. */
export class PreconditionFailedError extends SwiftvrError {
  readonly key: string;
  readonly condition: WriteCondition;
  constructor(store: string, key: string, condition: WriteCondition, cause?: unknown) {
    const rule =
      'ifNoneMatch' in condition ? 'it must not exist yet (If-None-Match: *)' : `its ETag must still be ${condition.ifMatch} (If-Match)`;
    super('transient', `write of ${store}/${key} refused: ${rule}`, { cause, retryable: true, context: { uri: key } });
    this.name = 'PreconditionFailedError';
    this.key = key;
    this.condition = condition;
  }
}

export const isPreconditionFailed = (e: unknown): e is PreconditionFailedError => e instanceof PreconditionFailedError;

/** Joins key parts with single `/`, dropping empty parts (so an empty prefix is harmless). */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p.length > 0)
    .join('/');
}

export const toBytes = (body: Uint8Array | string): Uint8Array => (typeof body === 'string' ? new TextEncoder().encode(body) : body);

export const bytesToText = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

/** Checks a key before it reaches a store: no empty, `.` or `..` segments, no leading `/`. */
export function checkKey(key: string): string {
  const parts = key.split('/');
  if (key.length === 0 || key.length > 1024 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new SwiftvrError(
      'bad-input',
      `object key ${JSON.stringify(key)} must be 1..1024 characters of non-empty '/'-separated parts other than '.' and '..'`,
    );
  }
  return key;
}

/**
 * Creates `key` once. An object already there is fine (a duplicate run wrote the same thing),
 * unless `mustMatch` and its bytes differ: then the writers disagree, which is an error.
 */
export async function putOnce(
  store: ObjectStore,
  key: string,
  body: Uint8Array | string,
  options: Omit<PutOptions, 'condition'>,
  mustMatch = false,
): Promise<'created' | 'existed'> {
  try {
    await store.put(key, body, { ...options, condition: { ifNoneMatch: '*' } });
    return 'created';
  } catch (e) {
    if (!isPreconditionFailed(e)) throw e;
    if (mustMatch) {
      const existing = await store.get(key);
      if (existing !== undefined && Buffer.compare(Buffer.from(existing.body), Buffer.from(toBytes(body))) !== 0) {
        throw new SwiftvrError(
          'internal',
          `${store.name}/${key} exists with different bytes; its writers disagree (settings changed mid-stream?)`,
        );
      }
    }
    return 'existed';
  }
}
