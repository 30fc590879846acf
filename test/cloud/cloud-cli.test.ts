// `swiftvr submit` / `status` in the embedded default (local folder as the store, in-process
// queue and worker), on the fMP4 fixture with sharding; and their usage errors.

import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, FIXTURE_MODEL, REPO } from './cloud-harness.js';
import type { JobLine } from '../../src/cli/jobs-command.js';
import type { JobRecord } from '../../src/cloud/jobs.js';
import type { QualityReport } from '../../src/report/quality-report.js';

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
    const common = [
      '--store-dir',
      dir,
      '--source-prefix',
      'input',
      '--model',
      FIXTURE_MODEL,
      '--ep',
      'cpu',
      '--threads',
      '1',
      '--encoder',
      'libx264',
      '--instance-type',
      'g5.xlarge',
    ];
    const r = await cli('submit', 's3://local/input/clip/index.m3u8', '--shards', '2', '--concurrency', '2', ...common);
    // The estimate before the work (stderr: stdout is the job's): the fixture model has no measurement.
    expect(r.err).toMatch(
      /^input     s3:\/\/local\/input\/clip\/index\.m3u8\npicture   96x64 at 10 frames\/s -> 192x128 \(swiftvr-tiny-fixture\)\nlength    3\.0 s, 30 frames, 3 segments, 2 shards\n/,
    );
    expect(r.err).toMatch(/^g5\.xlarge\s+1x NVIDIA A10G 24 GB\s+not measured/m);
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
    expect(JSON.parse(s.out)).toMatchObject({
      job: 'clip/index',
      mode: 'vod',
      segmentsTotal: 3,
      segmentsDone: 3,
      published: true,
      ended: true,
      errors: [],
    });
    // The job's events and quality report are in its folder.
    const events = await readdir(path.join(out, 'events'));
    expect(events.sort()).toEqual(['COMPLETE.json', 'PROGRESSING_0.json', 'PROGRESSING_1.json', 'PROGRESSING_2.json', 'SUBMITTED.json']);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as QualityReport;
    expect(report).toMatchObject({ job: 'clip/index', summary: { segments: 3, frames: 30 } });
    // The submit's estimate is kept in the job record; the report sets the actual figures beside it,
    // costed at the workers' instance type.
    const record = JSON.parse(await readFile(path.join(out, 'job.json'), 'utf8')) as JobRecord;
    expect(record.estimate).toMatchObject({ frames: 30, shards: 2, model: 'swiftvr-tiny-fixture', output: { width: 192, height: 128 } });
    expect(report.estimate).toMatchObject({
      instanceType: 'g5.xlarge',
      estimated: { measured: false, frames: 30 },
      actual: { frames: 30 },
    });
    const actual = report.estimate!.actual;
    expect(actual.outputBytes).toBeGreaterThan(0);
    expect(actual.costUsd).toBeCloseTo((actual.computeSeconds / 3600) * 1.006, 4);
    expect(actual.wallSeconds).toBeGreaterThan(0);

    // swiftvr jobs: the job, complete, with its progress and worker time.
    const jobs = await cli('jobs', '--store-dir', dir, '--json', '--instance-type', 'g5.xlarge');
    expect(jobs.code).toBe(0);
    const line = JSON.parse(jobs.out.trim()) as JobLine;
    expect(line).toMatchObject({
      job: 'clip/index',
      mode: 'vod',
      state: 'COMPLETE',
      segmentsDone: 3,
      segmentsTotal: 3,
      frames: 30,
      estimatedCostUsd: null,
    });
    expect(line.workerSeconds).toBeGreaterThan(0);
    expect(line.costUsd).toBeCloseTo((line.workerSeconds / 3600) * 1.006, 3);
    expect((await cli('jobs', '--store-dir', dir)).out).toMatch(
      /^job\s+mode\s+state\s+segments\s+frames\s+fps\s+worker s\s+cost\s+estimated\s+created\nclip\/index\s+vod\s+COMPLETE\s+3\/3\s+30\s+-\s+\d+\.\d\s+\$0\.\d{4}\s+-\s+\S+\n$/,
    );

    // swiftvr cancel: the record once, the CANCELED event, and status says it.
    const c = await cli('cancel', 'clip/index', '--store-dir', dir, '--by', 'ops', '--reason', 'test run');
    expect(c).toMatchObject({ code: 0, err: '' });
    expect(c.out).toMatch(/^cancelled clip\/index \(by ops at \S+\): test run\n$/);
    expect((await cli('cancel', 'clip/index', '--store-dir', dir)).out).toMatch(/^clip\/index was cancelled before \(by ops at /);
    expect(JSON.parse(await readFile(path.join(out, 'events', 'CANCELED.json'), 'utf8'))).toMatchObject({
      type: 'CANCELED',
      by: 'ops',
      reason: 'test run',
    });
    expect((await cli('status', 'clip/index', '--store-dir', dir)).out).toMatch(/^cancelled  at \S+ by ops: test run$/m);
    expect(JSON.parse((await cli('jobs', '--store-dir', dir, '--json')).out.trim())).toMatchObject({
      job: 'clip/index',
      state: 'CANCELED',
    });
  });

  it('answers usage errors with the rule and exit code 2', async () => {
    expect(await cli('submit')).toMatchObject({
      code: 2,
      err: expect.stringContaining('submit takes exactly one <s3://bucket/key.m3u8>; got 0'),
    });
    expect(await cli('submit', 's3://local/input/clip/index.m3u8', '--store-dir', dir, '--shards', '0')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--shards is "0"; it must be an integer >= 1'),
    });
    expect(await cli('worker', '--store-dir', dir, '--model', FIXTURE_MODEL)).toMatchObject({
      code: 2,
      err: expect.stringContaining('the worker needs a queue: give --queue-url <SQS FIFO URL> (SWIFTVR_QUEUE_URL)'),
    });
    expect(await cli('status', 'nope/index', '--store-dir', dir)).toMatchObject({
      code: 2,
      err: expect.stringContaining('job nope/index does not exist'),
    });
    expect(await cli('cancel', 'nope/index', '--store-dir', dir)).toMatchObject({
      code: 2,
      err: expect.stringContaining('job nope/index has no job record at'),
    });
    expect(await cli('cancel', 'clip/index', '--store-dir', dir, '--by')).toMatchObject({
      code: 2,
      err: expect.stringContaining('--by needs a value'),
    });
  });
});
