// `swiftvr submit` / `status` in the embedded default (local folder as the store, in-process
// queue and worker), on the fMP4 fixture with sharding; and their usage errors.

import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, FIXTURE_MODEL, REPO } from './cloud-harness.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-cloudcli-'));
  await cp(path.join(REPO, 'test/fixtures/hls/fmp4'), path.join(dir, 'input/clip'), { recursive: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('swiftvr submit / status, embedded', () => {
  it('restores an fMP4 VOD in 2 shards into the local store and reports it', async () => {
    const common = ['--store-dir', dir, '--source-prefix', 'input', '--model', FIXTURE_MODEL, '--ep', 'cpu', '--threads', '1', '--encoder', 'libx264'];
    const r = await cli('submit', 's3://local/input/clip/index.m3u8', '--shards', '2', '--concurrency', '2', ...common);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('segments   3 of 3 done, 30 frames');
    const out = path.join(dir, 'output/clip/index');
    const media = await readFile(path.join(out, 'restored/media.m3u8'), 'utf8');
    expect(media).toContain('#EXT-X-MAP:URI="init.mp4"');
    expect(media).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(media.match(/^seg_\d+\.m4s$/gm)).toEqual(['seg_000000.m4s', 'seg_000001.m4s', 'seg_000002.m4s']);
    const multivariant = await readFile(path.join(out, 'index.m3u8'), 'utf8');
    expect(multivariant).toContain('../../../input/clip/96x64/media.m3u8');
    expect(multivariant).toMatch(/RESOLUTION=192x128[^\n]*\nrestored\/media\.m3u8/);
    expect((await readFile(path.join(out, 'restored/init.mp4'))).subarray(4, 8).toString()).toBe('ftyp');

    const s = await cli('status', 'clip/index', '--store-dir', dir, '--json');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out)).toMatchObject({ job: 'clip/index', mode: 'vod', segmentsTotal: 3, segmentsDone: 3, published: true, ended: true, errors: [] });
    // The job's events and quality report are in its folder.
    const events = await readdir(path.join(out, 'events'));
    expect(events.sort()).toEqual(['COMPLETE.json', 'PROGRESSING_0.json', 'PROGRESSING_1.json', 'PROGRESSING_2.json', 'SUBMITTED.json']);
    expect(JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'))).toMatchObject({ job: 'clip/index', summary: { segments: 3, frames: 30 } });

    // swiftvr jobs: the job, complete, with its progress and worker time.
    const jobs = await cli('jobs', '--store-dir', dir, '--json');
    expect(jobs.code).toBe(0);
    const line = JSON.parse(jobs.out.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ job: 'clip/index', mode: 'vod', state: 'COMPLETE', segmentsDone: 3, segmentsTotal: 3, frames: 30 });
    expect(line.workerSeconds).toBeGreaterThan(0);
    expect((await cli('jobs', '--store-dir', dir)).out).toMatch(/^job\s+mode\s+state\s+segments\s+frames\s+fps\s+worker s\s+created\nclip\/index\s+vod\s+COMPLETE\s+3\/3\s+30\s+-\s+\d+\.\d\s+\S+\n$/);

    // swiftvr cancel: the record once, the CANCELED event, and status says it.
    const c = await cli('cancel', 'clip/index', '--store-dir', dir, '--by', 'ops', '--reason', 'test run');
    expect(c).toMatchObject({ code: 0, err: '' });
    expect(c.out).toMatch(/^cancelled clip\/index \(by ops at \S+\): test run\n$/);
    expect((await cli('cancel', 'clip/index', '--store-dir', dir)).out).toMatch(/^clip\/index was cancelled before \(by ops at /);
    expect(JSON.parse(await readFile(path.join(out, 'events', 'CANCELED.json'), 'utf8'))).toMatchObject({ type: 'CANCELED', by: 'ops', reason: 'test run' });
    expect((await cli('status', 'clip/index', '--store-dir', dir)).out).toMatch(/^cancelled  at \S+ by ops: test run$/m);
    expect(JSON.parse((await cli('jobs', '--store-dir', dir, '--json')).out.trim())).toMatchObject({ job: 'clip/index', state: 'CANCELED' });
  });

  it('answers usage errors with the rule and exit code 2', async () => {
    expect(await cli('submit')).toMatchObject({ code: 2, err: expect.stringContaining('submit takes exactly one <s3://bucket/key.m3u8>; got 0') });
    expect(await cli('submit', 's3://local/input/clip/index.m3u8', '--store-dir', dir, '--shards', '0')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--shards is "0"; it must be an integer >= 1'),
    });
    expect(await cli('worker', '--store-dir', dir, '--model', FIXTURE_MODEL)).toMatchObject({
      code: 2,
      err: expect.stringContaining('the worker needs a queue: give --queue-url <SQS FIFO URL> (SWIFTVR_QUEUE_URL)'),
    });
    expect(await cli('status', 'nope/index', '--store-dir', dir)).toMatchObject({ code: 2, err: expect.stringContaining('job nope/index does not exist') });
    expect(await cli('cancel', 'nope/index', '--store-dir', dir)).toMatchObject({
      code: 2,
      err: expect.stringContaining('job nope/index has no job record at'),
    });
    expect(await cli('cancel', 'clip/index', '--store-dir', dir, '--by')).toMatchObject({ code: 2, err: expect.stringContaining('--by needs a value') });
  });
});
