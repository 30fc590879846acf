// Job messages (shards, dedup, parsing) and the worker configuration's validation messages.

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCloudConfig, readWorkerConfig } from '../../src/cloud/config.js';
import { dedupOf, groupOf, jobIdOf, parseJobMessage, segmentMessages, type SegmentSpec, type StreamSpec } from '../../src/cloud/jobs.js';
import { jobMessageOf } from '../../src/cloud/submit.js';
import { FIXTURE_MODEL } from './cloud-harness.js';

const stream: StreamSpec = { job: 'show/index', mediaKey: 'in/show/index.m3u8', container: 'ts', targetDuration: 2, mode: 'vod' };
const specs: SegmentSpec[] = Array.from({ length: 7 }, (_, i) => ({
  sn: 10 + i,
  key: `in/show/s${i}.ts`,
  duration: 2,
  discontinuity: false,
  discontinuitySequence: 0,
}));

describe('segment messages', () => {
  it('splits into N contiguous shards, each its own FIFO group, each message carrying the segment before', () => {
    const ms = segmentMessages(stream, specs, { shards: 3, endList: true });
    expect(ms.map((m) => [m.segment.sn, m.prev?.sn, groupOf(m), m.shard?.first, m.shard?.last, m.last])).toEqual([
      [10, undefined, 'show/index#0', 10, 11, false],
      [11, 10, 'show/index#0', 10, 11, false],
      [12, 11, 'show/index#1', 12, 13, false],
      [13, 12, 'show/index#1', 12, 13, false],
      [14, 13, 'show/index#2', 14, 16, false],
      [15, 14, 'show/index#2', 14, 16, false],
      [16, 15, 'show/index#2', 14, 16, true],
    ]);
    // More shards than segments: one segment each.
    expect(new Set(segmentMessages(stream, specs.slice(0, 2), { shards: 5, endList: true }).map(groupOf))).toEqual(
      new Set(['show/index#0', 'show/index#1']),
    );
    expect(segmentMessages(stream, specs, { shards: 1, endList: false }).every((m) => groupOf(m) === 'show/index' && !m.last)).toBe(true);
  });

  it('deduplicates by stream, sn and source key; the closing message is distinct', () => {
    const [a] = segmentMessages(stream, specs, { shards: 1, endList: false });
    const closing = segmentMessages(stream, specs.slice(0, 1), { shards: 1, endList: true })[0]!;
    expect(dedupOf(a!)).toBe('show/index:10:in/show/s0.ts');
    expect(dedupOf(closing)).toBe('show/index:10:in/show/s0.ts:last');
  });

  it('parses messages and names the broken field', () => {
    const [m] = segmentMessages(stream, specs, { shards: 1, endList: false });
    expect(parseJobMessage(JSON.parse(JSON.stringify(m)))).toEqual(m);
    expect(() => parseJobMessage({ type: 'vod', job: 'j', sourceKey: 'k', shards: 0 })).toThrow(
      'queue message rejected: shards: Too small: expected number to be >=1',
    );
    expect(() => parseJobMessage({ type: 'segment', stream: { ...stream, container: 'mkv' }, segment: specs[0], last: false })).toThrow(
      'stream.container: Invalid option: expected one of "ts"|"fmp4"',
    );
    expect(() => parseJobMessage({ type: 'segment', stream, segment: { ...specs[0], sn: -1, duration: 0 }, last: false })).toThrow(
      'segment.sn: must be >= 0; segment.duration: must be a number > 0',
    );
    expect(() => parseJobMessage({ type: 'nope' })).toThrow("type: Invalid discriminator value. Expected 'vod' | 'live' | 'segment'");
    expect(() => parseJobMessage('x')).toThrow('(root): Invalid input: expected object, received string');
  });

  it('derives job ids from the source key and refuses keys outside the prefix', () => {
    expect(jobIdOf('input/show/index.m3u8', 'input/')).toBe('show/index');
    expect(() => jobIdOf('other/show/index.m3u8', 'input')).toThrow('source other/show/index.m3u8 must be inside the source prefix input/');
    expect(() => jobIdOf('input/show/index.mpd', 'input')).toThrow('must be a playlist ending in .m3u8');
    expect(() => jobMessageOf({ input: 's3://b/input/x.m3u8', live: true, shards: 2 }, 'input')).toThrow('--shards 2 with --live');
    expect(() => jobMessageOf({ input: 'https://h/x.m3u8', live: false, shards: 1 }, '')).toThrow('must be an s3://bucket/key.m3u8 URL');
  });
});

describe('worker configuration', () => {
  const base = { 'queue-url': 'https://sqs.us-east-1.amazonaws.com/1/work.fifo', bucket: 'media', model: FIXTURE_MODEL };

  it('reads flags over environment into a frozen object', () => {
    const c = readWorkerConfig(
      { ...base, concurrency: '2' },
      { SWIFTVR_CONCURRENCY: '9', SWIFTVR_VISIBILITY_TIMEOUT: '60', AWS_REGION: 'eu-west-1' },
      { requireQueue: true },
    );
    // The heartbeat renews the visibility every third of it, at most every 10 s.
    expect(c.consume).toMatchObject({ concurrency: 2, visibilityTimeoutSeconds: 60, heartbeatSeconds: 10 });
    expect(readWorkerConfig(base, {}, { requireQueue: true }).consume).toMatchObject({
      visibilityTimeoutSeconds: 30,
      heartbeatSeconds: 10,
    });
    expect(readWorkerConfig(base, { SWIFTVR_VISIBILITY_TIMEOUT: '6' }, { requireQueue: true }).consume).toMatchObject({
      heartbeatSeconds: 2,
    });
    expect(c).toMatchObject({
      region: 'eu-west-1',
      store: { kind: 's3', bucket: 'media' },
      queue: { kind: 'sqs' },
      outputPrefix: 'output/',
      liveWindow: 6,
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.consume)).toBe(true);
  });

  it('names the flag or variable and the rule it broke', () => {
    const env = {};
    expect(() => readWorkerConfig({ ...base, 'queue-url': undefined }, env, { requireQueue: true })).toThrow(
      'the worker needs a queue: give --queue-url',
    );
    expect(() => readWorkerConfig({ ...base, 'queue-url': 'https://sqs/q' }, env, { requireQueue: true })).toThrow(
      '--queue-url is "https://sqs/q"; it must be the http(s) URL of an SQS FIFO queue (ending in .fifo)',
    );
    expect(() => readWorkerConfig(base, { SWIFTVR_HEARTBEAT: '30', SWIFTVR_VISIBILITY_TIMEOUT: '30' }, { requireQueue: true })).toThrow(
      'heartbeat (30 s) must be less than visibility-timeout (30 s)',
    );
    expect(() => readWorkerConfig(base, { SWIFTVR_CONCURRENCY: 'two' }, { requireQueue: true })).toThrow(
      'SWIFTVR_CONCURRENCY is "two"; it must be an integer from 1 to 64',
    );
    expect(() => readWorkerConfig({ ...base, 'live-window': '3' }, env, { requireQueue: true })).toThrow(
      '--live-window is "3"; it must be an integer from 6',
    );
    expect(() => readWorkerConfig({ ...base, model: '/nope.onnx' }, env, { requireQueue: true })).toThrow(
      '--model names /nope.onnx, which does not exist',
    );
    expect(() => readCloudConfig({ bucket: 'Bad_Bucket' }, env)).toThrow('bucket "Bad_Bucket" is not a valid S3 bucket name');
    expect(() => readCloudConfig({ bucket: 'a-b', 'store-dir': '/x' }, env)).toThrow('--bucket and --store-dir are both set');
    expect(() => readCloudConfig({}, env)).toThrow(
      'the store is not set: give --bucket <name> (SWIFTVR_BUCKET) or --store-dir <dir> (SWIFTVR_STORE_DIR)',
    );
    expect(() => readCloudConfig({ bucket: 'media', 'output-prefix': '../up' }, env)).toThrow(
      '--output-prefix is "../up"; a key prefix must not start with / or hold . or .. parts',
    );
    expect(() => readCloudConfig({ bucket: 'media', endpoint: 'localhost:5000' }, env)).toThrow(
      '--endpoint is "localhost:5000"; it must be an http(s) URL',
    );
  });

  it('checks that the model has its sidecar', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-cfg-'));
    const model = path.join(dir, 'm.onnx');
    await writeFile(model, 'x');
    expect(() => readWorkerConfig({ ...base, model }, {}, { requireQueue: true })).toThrow(
      `but its sidecar ${path.join(dir, 'm.json')} does not exist`,
    );
  });
});
