import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { FIXTURE_TS, makeWorker, until, uploadDir, type LogLine } from '../../test/cloud/cloud-harness.js';
import { Delivery } from '../lib/delivery.js';
import { viewerRequestFunction } from '../lib/viewer-function.js';
import { type Json, newApp, only, removeScratch } from './helpers.js';

let template: Template;
let delivery: Delivery;

beforeAll(() => {
  const stack = new Stack(newApp(), 'Delivery');
  const bucket = new s3.Bucket(stack, 'Media');
  const logs = new s3.Bucket(stack, 'Logs', { objectOwnership: s3.ObjectOwnership.OBJECT_WRITER });
  delivery = new Delivery(stack, 'Delivery', { outputBucket: bucket, outputPrefix: 'output/', sourcePrefix: 'input/', logBucket: logs });
  template = Template.fromStack(stack);
});

afterAll(removeScratch);

const config = (): Json => only(template, 'AWS::CloudFront::Distribution').props.DistributionConfig as Json;
const functionCode = (): string => only(template, 'AWS::CloudFront::Function').props.FunctionCode as string;
const viewerHandler = (): ((e: unknown) => Json) => runInNewContext(`${functionCode()}; handler`) as (e: unknown) => Json;
const mediaDeny = (): Json => {
  const statements = (only(template, 'AWS::S3::BucketPolicy').props.PolicyDocument as Json).Statement as Json[];
  return statements.find((s) => s.Sid === 'CloudFrontMediaPrefixesOnly')!;
};
/** Key prefixes the bucket policy leaves readable to CloudFront: `<bucket arn>/<prefix>*`. */
const readablePrefixes = (): string[] =>
  (mediaDeny().NotResource as Json[]).map((r) => {
    const parts = ((r as Json)['Fn::Join'] as [string, unknown[]])[1];
    return (parts.at(-1) as string).replace(/^\//, '').replace(/\*$/, '');
  });
const policyTtl = (logicalId: string): Json => {
  const p = template.toJSON().Resources[logicalId] as Json;
  const c = (p.Properties as Json).CachePolicyConfig as Json;
  return { min: c.MinTTL, def: c.DefaultTTL, max: c.MaxTTL };
};

describe('Delivery', () => {
  it('caches playlists for one second and segments for a year', () => {
    const d = config();
    const playlists = (d.CacheBehaviors as Json[]).find((b) => b.PathPattern === '*.m3u8')!;
    expect(playlists).toBeDefined();
    expect(policyTtl((playlists.CachePolicyId as Json).Ref as string)).toEqual({ min: 0, def: 1, max: 1 });
    const segments = d.DefaultCacheBehavior as Json;
    expect(policyTtl((segments.CachePolicyId as Json).Ref as string)).toEqual({ min: 0, def: 365 * 86400, max: 365 * 86400 });
    expect(playlists.Compress).toBe(true);
    // A miss (segment not there yet) is not remembered for long.
    expect(d.CustomErrorResponses).toEqual([
      { ErrorCode: 403, ErrorCachingMinTTL: 1 },
      { ErrorCode: 404, ErrorCachingMinTTL: 1 },
    ]);
  });

  it('reads the private bucket through origin access control, viewer paths = bucket keys, only the output and source prefixes, over HTTPS', () => {
    const d = config();
    const origin = (d.Origins as Json[])[0]!;
    // No origin path: the worker's relative URIs from output/<job>/ to the source variants must resolve as keys.
    expect(origin.OriginPath ?? '').toBe('');
    expect(delivery.playbackBasePath).toBe('/output/');
    expect(origin.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/OriginAccessControl/), 'Id'] });
    expect(origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    for (const b of [d.DefaultCacheBehavior as Json, ...(d.CacheBehaviors as Json[])]) {
      expect(b.ViewerProtocolPolicy).toBe('redirect-to-https');
      expect(b.AllowedMethods).toEqual(['GET', 'HEAD', 'OPTIONS']);
    }
    expect(mediaDeny()).toMatchObject({ Effect: 'Deny', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(readablePrefixes().sort()).toEqual(['input/', 'output/']);
  });

  it('refuses an empty output prefix, naming the rule', () => {
    const stack = new Stack(newApp(), 'NoPrefix');
    expect(
      () => new Delivery(stack, 'Delivery', { outputBucket: new s3.Bucket(stack, 'B'), outputPrefix: '', sourcePrefix: 'input/' }),
    ).toThrow('Delivery outputPrefix is empty');
  });

  it('answers CORS for web players on every behaviour', () => {
    const policy = only(template, 'AWS::CloudFront::ResponseHeadersPolicy').props.ResponseHeadersPolicyConfig as Json;
    expect(policy.CorsConfig).toMatchObject({
      AccessControlAllowOrigins: { Items: ['*'] },
      AccessControlAllowMethods: { Items: ['GET', 'HEAD', 'OPTIONS'] },
      OriginOverride: true,
    });
    const d = config();
    for (const b of [d.DefaultCacheBehavior as Json, ...(d.CacheBehaviors as Json[])]) {
      expect(b.ResponseHeadersPolicyId).toEqual({ Ref: expect.stringMatching(/Cors/) });
    }
  });

  it('logs viewer requests to the log bucket', () => {
    expect(config().Logging).toMatchObject({ Prefix: 'cloudfront/' });
  });

  it('serves media of outputs and sources and refuses job records, state checkpoints, other keys and path tricks (viewer-request function)', () => {
    expect(functionCode()).toBe(viewerRequestFunction({ sourcePrefix: 'input/', outputPrefix: 'output/' }));
    const handler = viewerHandler();
    const status = (uri: string): number | 'pass' => {
      const r = handler({ request: { uri } });
      return 'statusCode' in r ? (r.statusCode as number) : 'pass';
    };
    const pass = [
      '/output/show/index.m3u8',
      '/output/show/restored/media.m3u8',
      '/output/show/restored/seg_000001.ts',
      '/output/show/restored/seg_000002.m4s',
      '/output/show/restored/init.mp4',
      '/input/show/96x64/media.m3u8',
      '/input/show/96x64/seg_000.ts',
      '/input/state/seg_1.ts', // a source folder may be called state
    ];
    for (const ok of pass) expect(status(ok), ok).toBe('pass');
    const refused = [
      '/output/show/job.json',
      '/output/show/state/000001.bin',
      '/output/show/segments/000001.json',
      '/output/show/errors/000001-1.json',
      '/output/show/state/x.ts',
      '/input/show/notes.txt',
      '/other/show/seg.ts',
      '/show/restored/media.m3u8',
      '/output/../input/../secret/x.ts',
    ];
    for (const no of refused) expect(status(no), no).toBe(403);
    const d = config();
    for (const b of [d.DefaultCacheBehavior as Json, ...(d.CacheBehaviors as Json[])]) {
      expect(b.FunctionAssociations).toEqual([
        { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [expect.stringMatching(/MediaOnly/), 'FunctionARN'] } },
      ]);
    }
  });

  it('plays what the worker publishes: every URI of its multivariant, the upscaled rendition and the source variants resolves to an object this distribution serves', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-delivery-'));
    try {
      // A real worker restores the multivariant fixture (two source variants) into the store.
      const store = new FsObjectStore(path.join(dir, 'store'));
      await uploadDir(store, FIXTURE_TS, 'input/show');
      const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
      const logs: LogLine[] = [];
      const worker = makeWorker(store, queue, logs, { workerId: 'cdn' });
      await worker.start();
      try {
        await submitJob(queue, jobMessageOf({ input: 's3://local/input/show/index.m3u8', live: false, shards: 1 }, 'input'));
        await until(async () => (await store.head('output/show/index/index.m3u8')) !== undefined, 90_000, 'multivariant published');
      } finally {
        await worker.stop();
      }

      // A player: viewer request function, origin path, bucket policy, then the object.
      const origin = (config().Origins as Json[])[0]!;
      const originPath = (origin.OriginPath as string | undefined) ?? '';
      const handler = viewerHandler();
      const readable = readablePrefixes();
      const get = async (url: URL): Promise<Uint8Array> => {
        const r = handler({ request: { uri: url.pathname } });
        if ('statusCode' in r) throw new Error(`${url.pathname}: ${String(r.statusCode)} from the viewer function`);
        const key = decodeURIComponent(`${originPath}${url.pathname}`).replace(/^\//, '');
        if (!readable.some((p) => key.startsWith(p)))
          throw new Error(`${url.pathname}: key ${key} is denied to CloudFront by the bucket policy`);
        const got = await store.get(key);
        if (got === undefined) throw new Error(`${url.pathname}: key ${key} does not exist (404)`);
        return got.body;
      };
      const start = new URL(`https://d111111abcdef8.cloudfront.net${delivery.playbackBasePath}show/index/index.m3u8`);
      const fetched: string[] = [];
      const pending = [start];
      const seen = new Set([start.href]);
      while (pending.length > 0) {
        const url = pending.shift()!;
        const body = await get(url);
        fetched.push(url.pathname);
        if (!url.pathname.endsWith('.m3u8')) continue;
        const text = new TextDecoder().decode(body);
        const uris = [
          ...text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')),
          ...[...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!),
        ];
        for (const u of uris) {
          const next = new URL(u.trim(), url);
          if (!seen.has(next.href)) {
            seen.add(next.href);
            pending.push(next);
          }
        }
      }
      expect(fetched).toEqual(
        expect.arrayContaining([
          '/output/show/index/index.m3u8',
          '/output/show/index/restored/media.m3u8',
          '/output/show/index/restored/seg_000000.ts',
          '/input/show/48x32/media.m3u8',
          '/input/show/96x64/media.m3u8',
        ]),
      );
      // The two source variants and the restored one, each with its segments.
      expect(fetched.filter((p) => p.endsWith('.ts')).length).toBeGreaterThanOrEqual(9);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
