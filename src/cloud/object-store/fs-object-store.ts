// Filesystem object store (the embedded default). Conditional writes use the filesystem's own
// atomic operations: create-once is link(2) of a complete temp file (fails with EEXIST), and
// compare-and-replace holds a per-key lock file while it compares the ETag and renames.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, link, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
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

/** Internal folder for temp files and locks; never listed, never a valid key prefix. */
const INTERNAL = '.swiftvr-store';
/** A lock older than this is taken to belong to a crashed writer and is broken. */
const STALE_LOCK_MS = 10_000;

const etagOf = (bytes: Uint8Array): string => `"${createHash('md5').update(bytes).digest('hex')}"`;

const isErrno = (e: unknown, code: string): boolean => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;

export class FsObjectStore implements ObjectStore {
  readonly name: string;
  readonly bucket: string;
  private readonly root: string;

  /** `bucket`: the name playlists use for this store in s3:// URIs. @default 'local' */
  constructor(root: string, opts: { bucket?: string } = {}) {
    this.root = path.resolve(root);
    this.name = this.root;
    this.bucket = opts.bucket ?? 'local';
  }

  private pathOf(key: string): string {
    checkKey(key);
    if (key.split('/')[0] === INTERNAL) {
      throw new SwiftvrError('bad-input', `object key ${JSON.stringify(key)} must not start with the reserved folder ${INTERNAL}`);
    }
    return path.join(this.root, ...key.split('/'));
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject | undefined> {
    try {
      const whole = new Uint8Array(await readFile(this.pathOf(key), { signal: options.signal }));
      const r = options.range;
      if (r !== undefined && r.offset + r.length > whole.length) {
        throw new SwiftvrError(
          'bad-input',
          `byte range ${r.length}@${r.offset} of ${this.name}/${key} ends past its end (${whole.length} bytes)`,
          { context: { uri: key } },
        );
      }
      const body = r === undefined ? whole : whole.subarray(r.offset, r.offset + r.length);
      return { body, etag: etagOf(whole) };
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) return undefined;
      throw e;
    }
  }

  async head(key: string): Promise<ObjectHead | undefined> {
    const p = this.pathOf(key);
    try {
      const [st, body] = await Promise.all([stat(p), readFile(p)]);
      return { etag: etagOf(body), size: st.size, lastModified: st.mtime };
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) return undefined;
      throw e;
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    const dest = this.pathOf(key);
    const bytes = toBytes(body);
    const etag = etagOf(bytes);
    const tmpDir = path.join(this.root, INTERNAL, 'tmp');
    await Promise.all([mkdir(path.dirname(dest), { recursive: true }), mkdir(tmpDir, { recursive: true })]);
    const tmp = path.join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
    await writeFile(tmp, bytes);
    const condition = options.condition;
    try {
      if (condition !== undefined && 'ifNoneMatch' in condition) {
        try {
          await link(tmp, dest);
        } catch (e) {
          if (isErrno(e, 'EEXIST')) throw new PreconditionFailedError(this.name, key, condition, e);
          throw e;
        }
        return { etag };
      }
      if (condition === undefined) {
        await rename(tmp, dest);
        return { etag };
      }
      await this.withLock(key, async () => {
        const current = await this.head(key);
        if (current === undefined || current.etag !== normaliseEtag(condition.ifMatch)) {
          throw new PreconditionFailedError(this.name, key, condition);
        }
        await rename(tmp, dest);
      });
      return { etag };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async list(prefix: string): Promise<ListedObject[]> {
    const out: ListedObject[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return;
        throw e;
      }
      for (const entry of entries) {
        const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
        if (keyPrefix === '' && entry.name === INTERNAL) continue;
        // Only descend where the prefix can still match.
        if (!key.startsWith(prefix) && !prefix.startsWith(key)) continue;
        if (entry.isDirectory()) await walk(path.join(dir, entry.name), key);
        else if (entry.isFile() && key.startsWith(prefix)) {
          out.push({ key, size: (await stat(path.join(dir, entry.name))).size });
        }
      }
    };
    await walk(this.root, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** Runs `fn` holding an exclusive lock file for `key`; breaks locks left by crashed writers. */
  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lockDir = path.join(this.root, INTERNAL, 'locks');
    await mkdir(lockDir, { recursive: true });
    const lock = path.join(lockDir, `${createHash('sha1').update(key).digest('hex')}.lock`);
    const deadline = Date.now() + 30_000;
    for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
      try {
        const fh = await open(lock, 'wx');
        await fh.close();
        break;
      } catch (e) {
        if (!isErrno(e, 'EEXIST')) throw e;
        const st = await stat(lock).catch(() => undefined);
        if (st !== undefined && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
          await unlink(lock).catch(() => undefined);
          continue;
        }
        if (Date.now() > deadline) {
          throw new SwiftvrError('transient', `lock for ${this.name}/${key} still held after 30 s`, { context: { uri: key } });
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(lock).catch(() => undefined);
    }
  }
}

/** S3 accepts an If-Match ETag with or without quotes; so do we. */
const normaliseEtag = (etag: string): string => (etag.startsWith('"') ? etag : `"${etag}"`);
