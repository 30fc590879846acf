// `swiftvr estimate` on real inputs (a playlist, a phone video file with a display matrix) and its
// one-line errors.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobEstimateSchema } from '../../src/estimate/estimate.js';
import { cli, FIXTURE_MODEL, REPO } from '../cloud/cloud-harness.js';

describe('swiftvr estimate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-estimate-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('estimates an HLS stream from its playlist and first segment, with the shipped model measured locally', async () => {
    const r = await cli('estimate', path.join(REPO, 'docs/sample/hls/index.m3u8'), '--json');
    expect(r).toMatchObject({ code: 0, err: '' });
    const e = jobEstimateSchema.parse(JSON.parse(r.out));
    const frames = Number(
      execFileSync('ffprobe', [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-count_packets',
        '-show_entries',
        'stream=nb_read_packets',
        '-of',
        'csv=p=0',
        path.join(REPO, 'docs/sample/hls/index.m3u8'),
      ])
        .toString()
        .trim()
        .split(/\s+/)[0],
    );
    expect(e).toMatchObject({
      mode: 'vod',
      model: 'swiftvr-x2',
      source: { width: 384, height: 288, frameRate: 10 },
      output: { width: 768, height: 576 },
      frames,
      segments: 3,
    });
    const local = e.instances.find((i) => i.instanceType === 'local')!;
    expect(local.measured).toBe(true);
    expect(local.wallSeconds).toBeGreaterThan(0);
    // No GPU instance type has a measurement of this model yet: each is said to be not measured.
    expect(e.instances.filter((i) => i.instanceType !== 'local').every((i) => !i.measured && i.pricePerHour! > 0)).toBe(true);
    const text = await cli('estimate', path.join(REPO, 'docs/sample/hls/index.m3u8'), '--model', FIXTURE_MODEL, '--crf', '18');
    expect(text.out).toMatch(/^local\s+CPU\s+not measured/m);
    expect(text.out).toContain('at CRF 18');
  });

  it('estimates a phone video file as it displays (upright), without cutting it', async () => {
    const file = path.join(dir, 'phone.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=128x96:rate=30:duration=2',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      file,
    ]);
    // rotate=90 (clockwise) is written as a display matrix, as a phone writes it.
    execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-c', 'copy', '-metadata:s:v', 'rotate=90', path.join(dir, 'turned.mp4')]);
    const r = await cli('estimate', path.join(dir, 'turned.mp4'), '--json');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(r.out)).toMatchObject({
      source: { width: 96, height: 128, frameRate: 30 },
      output: { width: 192, height: 256 },
      frames: 60,
      durationSeconds: 2,
      segments: null,
    });
  });

  it('says what is wrong in one line', async () => {
    expect(await cli('estimate')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^swiftvr: estimate takes exactly one <input>; got 0/),
    });
    expect(await cli('estimate', path.join(dir, 'missing.mp4'))).toMatchObject({
      code: 2,
      err: expect.stringMatching(/input .*missing\.mp4 does not exist/),
    });
    const txt = path.join(dir, 'notes.mp4');
    await writeFile(txt, 'not a video');
    expect((await cli('estimate', txt)).err).toMatch(/notes\.mp4 is not a video file ffprobe can read/);
    expect((await cli('estimate', path.join(REPO, 'docs/sample/hls/index.m3u8'), '--crf', '99')).err).toMatch(
      /--crf is "99"; it must be an integer from 0 to 51/,
    );
    expect((await cli('estimate', path.join(REPO, 'docs/sample/hls/index.m3u8'), '--prices', path.join(dir, 'nope.json'))).err).toMatch(
      /price table .*nope\.json cannot be read/,
    );
  });
});
