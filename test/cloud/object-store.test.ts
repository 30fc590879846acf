// One contract, two stores: the filesystem store (embedded default) and S3 on moto.

import { CreateBucketCommand, GetObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText, isPreconditionFailed, type ObjectStore } from '../../src/cloud/object-store/object-store.js';
import { makeS3Client, S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import { startMoto, type Moto } from './moto-server.js';

let moto: Moto;
let client: S3Client;
let dir: string;
const stores: Record<string, ObjectStore> = {};

beforeAll(async () => {
  moto = await startMoto();
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-store-'));
  client = makeS3Client({ region: 'us-east-1', endpoint: moto.endpoint });
  await client.send(new CreateBucketCommand({ Bucket: 'store-test' }));
  stores.fs = new FsObjectStore(dir);
  // A low threshold so the multipart path runs on a 6 MiB body.
  stores.s3 = new S3ObjectStore({ bucket: 'store-test', client, multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024 });
});

afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.each(['fs', 's3'])('%s object store', (kind) => {
  const store = (): ObjectStore => stores[kind]!;

  it('returns undefined for a missing key and the body and ETag of a written one', async () => {
    expect(await store().get('a/missing.txt')).toBeUndefined();
    expect(await store().head('a/missing.txt')).toBeUndefined();
    const { etag } = await store().put('a/one.txt', 'hello');
    const got = await store().get('a/one.txt');
    expect(bytesToText(got!.body)).toBe('hello');
    expect(got!.etag).toBe(etag);
    expect((await store().head('a/one.txt'))!.size).toBe(5);
  });

  it('creates once with If-None-Match: * and refuses the second writer', async () => {
    await store().put('seg/1.ts', 'first', { condition: { ifNoneMatch: '*' } });
    const second = store().put('seg/1.ts', 'second', { condition: { ifNoneMatch: '*' } });
    await expect(second).rejects.toSatisfy(isPreconditionFailed);
    expect(bytesToText((await store().get('seg/1.ts'))!.body)).toBe('first');
  });

  it('replaces with If-Match only the version that was read', async () => {
    const v1 = await store().put('pl/index.m3u8', 'v1');
    const v2 = await store().put('pl/index.m3u8', 'v2', { condition: { ifMatch: v1.etag } });
    // A stale writer still holding v1's ETag loses.
    await expect(store().put('pl/index.m3u8', 'stale', { condition: { ifMatch: v1.etag } })).rejects.toSatisfy(isPreconditionFailed);
    await store().put('pl/index.m3u8', 'v3', { condition: { ifMatch: v2.etag } });
    expect(bytesToText((await store().get('pl/index.m3u8'))!.body)).toBe('v3');
    await expect(store().put('pl/none.m3u8', 'x', { condition: { ifMatch: v2.etag } })).rejects.toSatisfy(isPreconditionFailed);
  });

  it('lets exactly one of many concurrent create-once writers win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => store().put('race/seg.ts', `writer ${i}`, { condition: { ifNoneMatch: '*' } })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && isPreconditionFailed(r.reason))).toHaveLength(5);
  });

  it('lists by prefix in key order', async () => {
    await store().put('ls/b/2.bin', new Uint8Array([2]));
    await store().put('ls/a/1.bin', new Uint8Array([1]));
    await store().put('lsx/3.bin', new Uint8Array([3]));
    expect((await store().list('ls/')).map((o) => o.key)).toEqual(['ls/a/1.bin', 'ls/b/2.bin']);
    await store().delete('ls/a/1.bin');
    expect((await store().list('ls/')).map((o) => o.key)).toEqual(['ls/b/2.bin']);
  });

  it('stores a large body intact (multipart on S3) and still honours If-None-Match', async () => {
    const big = new Uint8Array(6 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    await store().put('big/blob.bin', big, { condition: { ifNoneMatch: '*' } });
    const got = await store().get('big/blob.bin');
    expect(got!.body.length).toBe(big.length);
    expect(Buffer.from(got!.body).equals(Buffer.from(big))).toBe(true);
    await expect(store().put('big/blob.bin', big, { condition: { ifNoneMatch: '*' } })).rejects.toSatisfy(isPreconditionFailed);
  });

  it('refuses keys that escape or are empty', async () => {
    await expect(store().put('../x', 'x')).rejects.toThrow(/object key "\.\.\/x" must be/);
    await expect(store().get('a//b')).rejects.toThrow(/must be 1\.\.1024 characters/);
  });
});

describe('object tags (bucket lifecycle rules select checkpoints by tag)', () => {
  const tagsOf = async (key: string): Promise<Record<string, string>> => {
    const r = await client.send(new GetObjectTaggingCommand({ Bucket: 'store-test', Key: key }));
    return Object.fromEntries((r.TagSet ?? []).map((t) => [t.Key, t.Value]));
  };

  it('S3 sets the tags with the object, in one PutObject and on a multipart upload', async () => {
    const tags = { 'swiftvr-kind': 'state', note: 'a b+c/d' };
    await stores.s3!.put('tags/small.bin', new Uint8Array([1, 2, 3]), { tags, condition: { ifNoneMatch: '*' } });
    expect(await tagsOf('tags/small.bin')).toEqual(tags);
    await stores.s3!.put('tags/big.bin', new Uint8Array(6 * 1024 * 1024 + 5), { tags, condition: { ifNoneMatch: '*' } });
    expect(await tagsOf('tags/big.bin')).toEqual(tags);
    await stores.s3!.put('tags/none.bin', 'x');
    expect(await tagsOf('tags/none.bin')).toEqual({});
  });

  it('the filesystem store accepts tags and ignores them', async () => {
    await stores.fs!.put('tags/small.bin', 'x', { tags: { 'swiftvr-kind': 'state' } });
    expect(bytesToText((await stores.fs!.get('tags/small.bin'))!.body)).toBe('x');
    expect((await stores.fs!.list('tags/')).map((o) => o.key)).toEqual(['tags/small.bin']);
  });
});
