// Live benchmark (`npm run bench:live -- [options]`): a real clip played as a live HLS source at
// real-time pace (each segment listed once its duration has passed, sliding window of 6, with
// PROGRAM-DATE-TIME) into a worker on the embedded default (local files, in-process queue, CPU,
// the shipped model). Prints, per segment, the latency from the source listing it to the restored
// rendition listing it and whether it was restored or published as a plain upscale; then the
// latency p50/p95/max, the plain-upscale share, and whether the restored rendition fell behind
// the source's live edge (a segment later than the budget plus one target duration, the slack a
// player at the live edge has before it stalls).
//
// Options:
//   --video <file>     source video (default: OpenCV's vtest.avi as fetched by
//                      `.venv/bin/python -m models.swiftvr.benchmark prepare`)
//   --start <s>        where to start in it (default 20)
//   --seconds <s>      length (default 30)
//   --size <WxH>       picture size of the live source (default 384x288)
//   --fps <n>          frame rate (default 10)
//   --segment <s>      segment length (default 2)
//   --crf <n>          x264 CRF of the source (default 28)
//   --budget <s>       live latency budget (default: the segment length)
//   --model <onnx>     default models/swiftvr-x2.onnx
//   --threads <n>      onnxruntime intra-op threads (default 2)
//   --faults           the source does what real packagers do: PROGRAM-DATE-TIME from a wall clock
//                      (up to 16 ms short), a corrupt segment (sn 3), a discontinuity with a
//                      timestamp jump of 1000 s (sn 6), a 5 s pause (after sn 9), old segment files
//                      deleted as they leave the window; the corrupt one must come out as a gap
//   --json             one JSON object instead of the table
//   --help             this text
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import HLS from 'hls-parser';
import type { MediaPlaylist } from 'hls-parser/types.js';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import { bytesToText } from '../../src/cloud/object-store/object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { Worker } from '../../src/cloud/worker/worker.js';
import { openRestorer } from '../../src/inference/restorer.js';
import { REPO, until, type LogLine } from '../cloud/cloud-harness.js';
import { benchFailer, exitWithHelpIf, requireVideo } from './bench-help.js';
import { playLive, type LiveSegment } from '../cloud/live-source.js';

const { values } = parseArgs({
  options: {
    video: { type: 'string', default: path.join(REPO, 'models/data/raw/x/usr/share/doc/opencv-doc/examples/data/vtest.avi') },
    start: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '30' },
    size: { type: 'string', default: '384x288' },
    fps: { type: 'string', default: '10' },
    segment: { type: 'string', default: '2' },
    crf: { type: 'string', default: '28' },
    budget: { type: 'string' },
    model: { type: 'string', default: path.join(REPO, 'models/swiftvr-x2.onnx') },
    threads: { type: 'string', default: '2' },
    faults: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
await exitWithHelpIf(values.help === true, import.meta.url);
const fail = benchFailer('bench:live');
requireVideo(values.video!, fail);
const size = /^(\d+)x(\d+)$/.exec(values.size!) ?? fail(`--size ${values.size} is not WxH, e.g. 384x288`);
const [width, height] = [Number(size[1]), Number(size[2])];
if (width % 2 !== 0 || height % 2 !== 0) fail(`--size ${values.size}: width and height must be even (yuv420p)`);
const segment = Number(values.segment);
const budget = values.budget === undefined ? segment : Number(values.budget);
for (const [name, v] of [
  ['segment', segment],
  ['budget', budget],
  ['seconds', Number(values.seconds)],
  ['fps', Number(values.fps)],
] as const) {
  if (!(v > 0)) fail(`--${name} ${v} must be a positive number`);
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`))));
  });
}

/** The --faults scenario: which segment is garbage, where the timestamps jump, where the source pauses. */
const FAULTS = { corrupt: 3, jump: 6, pauseAfter: 9, pauseMs: 5000, jitterMs: 16 } as const;

/**
 * Cuts the clip into H.264 segments of --segment seconds (IDR at each start, no audio). With
 * --faults, the segments from FAULTS.jump on are cut with their timestamps 1000 s later and the
 * first of them opens a discontinuity, as a packager restarted with a new clock writes them.
 */
async function cutSegments(dir: string): Promise<LiveSegment[]> {
  const fps = Number(values.fps);
  const g = Math.round(segment * fps);
  const cut = async (name: string, from: number, seconds: number, offset: number): Promise<LiveSegment[]> => {
    await run('ffmpeg', [
      '-v',
      'error',
      '-ss',
      String(from),
      '-t',
      String(seconds),
      '-i',
      values.video!,
      '-vf',
      `scale=${width}:${height}:flags=area,fps=${fps}`,
      '-an',
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'medium',
      '-crf',
      values.crf!,
      '-g',
      String(g),
      '-keyint_min',
      String(g),
      '-sc_threshold',
      '0',
      ...(offset > 0 ? ['-output_ts_offset', String(offset)] : []),
      '-f',
      'hls',
      '-hls_time',
      String(segment),
      '-hls_playlist_type',
      'vod',
      '-hls_segment_filename',
      path.join(dir, `${name}_%03d.ts`),
      path.join(dir, `${name}.m3u8`),
    ]);
    const vod = HLS.parse(await readFile(path.join(dir, `${name}.m3u8`), 'utf8')) as MediaPlaylist;
    return Promise.all(
      vod.segments.map(async (s) => ({ bytes: new Uint8Array(await readFile(path.join(dir, s.uri))), duration: s.duration })),
    );
  };
  const start = Number(values.start);
  const total = Number(values.seconds);
  if (values.faults !== true) return cut('seg', start, total, 0);
  const before = FAULTS.jump * segment;
  if (total <= before + 2 * segment) fail(`--faults needs --seconds above ${before + 2 * segment} (the jump is at segment ${FAULTS.jump})`);
  const a = await cut('a', start, before, 0);
  const b = await cut('b', start + before, total - before, 1000);
  return [...a, ...b.map((s, i) => (i === 0 ? { ...s, discontinuity: true } : s))];
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
};

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'swiftvr-livebench-'));
  try {
    const segments = await cutSegments(await mkdtemp(path.join(work, 'cut-')));
    const store = new FsObjectStore(path.join(work, 'store'));
    const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
    const logs: LogLine[] = [];
    const worker = new Worker({
      store,
      queue,
      openRestorer: () => openRestorer(values.model!, { ep: 'cpu', intraOpThreads: Number(values.threads) }),
      liveLatencyBudgetSeconds: budget,
      sourcePrefix: 'input',
      outputPrefix: 'output',
      consume: { concurrency: 1, visibilityTimeoutSeconds: 60, heartbeatSeconds: 10, handlerTimeoutMs: 3_600_000, waitTimeSeconds: 1 },
      liveWindow: 6,
      livePollMs: 100,
      liveIdleTimeoutMs: 60_000,
      encoder: 'libx264',
      workerId: 'bench',
      log: (line) => logs.push({ ...line, t: Date.now() }),
    });
    await worker.start(); // opens the model before the clock starts, as a running worker has
    const rendition = 'output/live/index/restored/media.m3u8';
    const source = playLive(store, segments, {
      playlistKey: 'input/live/index.m3u8',
      window: 6,
      programDateTime: true,
      ...(values.faults === true
        ? {
            pdtJitterMs: FAULTS.jitterMs,
            corrupt: [FAULTS.corrupt],
            pauseAfter: { sn: FAULTS.pauseAfter, ms: FAULTS.pauseMs },
            deleteOld: true,
          }
        : {}),
    });
    await until(async () => (await store.head('input/live/index.m3u8')) !== undefined, 10_000, 'source listed');
    await submitJob(queue, jobMessageOf({ input: 's3://local/input/live/index.m3u8', live: true, shards: 1 }, 'input'));

    // Watch the restored rendition: when each segment first appears in it, and how far its newest
    // segment trails the source's newest at each look.
    const restoredAt = new Map<number, number>();
    let maxEdgeGap = 0;
    let ended = false;
    const deadline = Date.now() + (Number(values.seconds) * 4 + 120) * 1000;
    while (!ended) {
      if (Date.now() > deadline) throw new Error('the restored rendition did not reach EXT-X-ENDLIST in time');
      const got = await store.get(rendition);
      if (got !== undefined) {
        const p = HLS.parse(bytesToText(got.body)) as MediaPlaylist;
        const now = Date.now();
        for (const s of p.segments) {
          const sn = Number(/seg_(\d+)\./.exec(s.uri)![1]);
          if (!restoredAt.has(sn)) restoredAt.set(sn, now);
        }
        ended = p.endlist;
        const newestRestored = Math.max(-1, ...restoredAt.keys());
        const newestSource = Math.max(-1, ...source.listedAt.keys());
        maxEdgeGap = Math.max(maxEdgeGap, newestSource - newestRestored);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await source.done;
    await worker.stop();
    const gaps = new Map(logs.filter((l) => l.event === 'segment-gap').map((l) => [l.sn as number, String(l.reason)]));
    // With --faults the corrupt segment is the one expected failure, and it must be a gap.
    const expectedGaps: number[] = values.faults === true ? [FAULTS.corrupt] : [];
    const errors = logs.filter((l) => l.event === 'error' && !expectedGaps.includes(l.sn as number));
    if (errors.length > 0) throw new Error(`worker errors: ${JSON.stringify(errors)}`);
    for (const sn of expectedGaps) if (!gaps.has(sn)) throw new Error(`the corrupt segment ${sn} was not published as a gap`);
    const unexpectedGaps = [...gaps.keys()].filter((sn) => !expectedGaps.includes(sn));
    if (unexpectedGaps.length > 0) throw new Error(`segments ${unexpectedGaps.join(', ')} became gaps: ${JSON.stringify([...gaps])}`);

    const done = new Map(logs.filter((l) => l.event === 'segment-done').map((l) => [l.sn as number, l]));
    const reasons = new Map(logs.filter((l) => l.event === 'segment-fallback').map((l) => [l.sn as number, String(l.reason)]));
    const rows = segments.map((s, sn) => {
      const listed = source.listedAt.get(sn);
      const restored = restoredAt.get(sn);
      const d = done.get(sn);
      const gap = gaps.has(sn);
      return {
        sn,
        duration: s.duration,
        latency: listed !== undefined && restored !== undefined ? (restored - listed) / 1000 : NaN,
        published: gap ? 'gap' : d?.Fallback === 1 ? 'plain' : 'restored',
        plain: d?.Fallback === 1,
        ...(gap ? { reason: gaps.get(sn)! } : reasons.has(sn) ? { reason: reasons.get(sn)! } : {}),
        fps: typeof d?.Fps === 'number' ? d.Fps : NaN,
      };
    });
    // Gaps are not published media: latency, shares and "fell behind" count the segments that were.
    const media = rows.filter((r) => r.published !== 'gap');
    const lat = media.map((r) => r.latency).filter((x) => Number.isFinite(x));
    const restoredRows = media.filter((r) => !r.plain);
    const target = Math.max(...segments.map((s) => Math.round(s.duration)));
    const fellBehind = media.some((r) => !(r.latency <= budget + target));
    const summary = {
      video: path.basename(values.video!),
      size: `${width}x${height}`,
      output: `${width * 2}x${height * 2}`,
      fps: Number(values.fps),
      segments: rows.length,
      gaps: rows.length - media.length,
      faults: values.faults === true,
      segmentSeconds: segment,
      budgetSeconds: budget,
      latency: { p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), max: Math.max(...lat) },
      plainShare: media.filter((r) => r.plain).length / media.length,
      restored: restoredRows.length,
      restoredFps: restoredRows.length > 0 ? restoredRows.reduce((a, r) => a + r.fps, 0) / restoredRows.length : NaN,
      maxEdgeGapSegments: maxEdgeGap,
      fellBehind,
      withinBudgetShare: media.filter((r) => r.latency <= budget).length / media.length,
      cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}`,
      model: path.relative(REPO, values.model!),
    };
    if (values.json === true) {
      console.log(JSON.stringify({ ...summary, rows }, null, 1));
      return;
    }
    console.log(
      `live source: ${summary.video} from ${values.start} s, ${summary.size} at ${summary.fps} fps, ${rows.length} segments of ${segment} s, real-time pace` +
        (values.faults === true
          ? `; faults: date-times up to ${FAULTS.jitterMs} ms short, sn ${FAULTS.corrupt} corrupt, timestamps jump 1000 s at sn ${FAULTS.jump}, ` +
            `${FAULTS.pauseMs / 1000} s pause after sn ${FAULTS.pauseAfter}, old files deleted`
          : ''),
    );
    console.log(
      `worker: embedded (local files, in-process queue), ${summary.model}, CPU, ${values.threads} threads, budget ${budget} s; output ${summary.output}`,
    );
    console.log('  sn  latency(s)  published     pipeline fps  reason');
    for (const r of rows) {
      console.log(
        `${String(r.sn).padStart(4)}  ${r.latency.toFixed(2).padStart(10)}  ${r.published.padEnd(12)}  ${r.fps.toFixed(1).padStart(12)}  ${r.reason ?? ''}`,
      );
    }
    console.log(
      `latency p50 ${summary.latency.p50.toFixed(2)} s, p95 ${summary.latency.p95.toFixed(2)} s, max ${summary.latency.max.toFixed(2)} s`,
    );
    console.log(
      `within the ${budget} s budget: ${(summary.withinBudgetShare * 100).toFixed(0)} % of published segments (${media.filter((r) => r.latency <= budget).length} of ${media.length})` +
        (summary.gaps > 0 ? `; ${summary.gaps} gap(s)` : ''),
    );
    console.log(
      `plain-upscale share ${(summary.plainShare * 100).toFixed(0)} % (${media.length - restoredRows.length} of ${media.length})` +
        (restoredRows.length > 0
          ? `; restored segments ran at ${summary.restoredFps.toFixed(1)} fps end to end`
          : '; no segment was restored'),
    );
    console.log(
      `restored edge trailed the source edge by at most ${maxEdgeGap} segment(s); fell behind: ${fellBehind ? 'YES' : 'no'} (every segment listed within budget + one target duration = ${budget + target} s)`,
    );
    console.log(`CPU: ${summary.cpu}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
