// Parallel VOD benchmark (`npx tsx test/bench/shards-bench.ts [options]`): the same stream restored
//   sequential  1 worker process, --shards 1
//   sharded     N worker processes, --shards N (each shard warms on the segment before it)
// through the real cloud path (S3 + SQS FIFO on a moto server on loopback, `swiftvr worker`
// child processes). Prints wall times (submit -> rendition published), the speed-up, and the seam
// PSNR: sharded vs sequential output on the first segment of every shard after the first
// (goal >= 40 dB; other segments are compared too and must be identical or near it).
//
// Options:
//   --input <dir>      HLS folder holding index.m3u8 (default: docs/sample/hls)
//   --video <file>     instead: cut this video into an HLS input first (e.g. OpenCV's vtest.avi)
//   --seconds <s>      with --video: length to cut (default 8)
//   --segment <s>      with --video: segment length (default 1)
//   --size <WxH>       with --video: picture size (default 192x144)
//   --fps <n>          with --video: frame rate (default 10)
//   --shards <N>       shards and worker processes of the sharded run (default 2)
//   --model <onnx>     default: the test fixture model
//   --threads <N>      onnxruntime threads per worker (default 1)
//   --keep             keep the work folder (input cut, decoded segments) and print its path
//   --help             this text
// Per run it also reports the workers' CPU seconds (user+sys of the worker processes and their
// reaped children, i.e. ffmpeg, read from /proc just before they are stopped) and the 1-minute load
// average at its start and end, so a speed-up near 1x on a small, busy machine can be read.
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { makeS3Client, S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { makeSqsClient, SqsQueue } from '../../src/cloud/queue/sqs-queue.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { createFifoQueues } from '../cloud/sqs-setup.js';
import { startMoto } from '../cloud/moto-server.js';
import { FIXTURE_MODEL, REPO, uploadDir } from '../cloud/cloud-harness.js';
import { exitWithHelpIf } from './bench-help.js';

const { values } = parseArgs({
  options: {
    input: { type: 'string', default: path.join(REPO, 'docs/sample/hls') },
    video: { type: 'string' },
    seconds: { type: 'string', default: '8' },
    segment: { type: 'string', default: '1' },
    size: { type: 'string', default: '192x144' },
    fps: { type: 'string', default: '10' },
    shards: { type: 'string', default: '2' },
    model: { type: 'string', default: FIXTURE_MODEL },
    threads: { type: 'string', default: '1' },
    keep: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
await exitWithHelpIf(values.help === true, import.meta.url);
const shards = Number(values.shards);
const BUCKET = 'bench';

function run(cmd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`))));
  });
}

/** Cuts a video into a VOD HLS folder (index.m3u8), IDR at every segment start, no audio. */
async function makeInput(video: string, dir: string): Promise<string> {
  const [w, h] = values.size!.split('x');
  const fps = Number(values.fps);
  const g = Math.round(Number(values.segment) * fps);
  await run('ffmpeg', [
    '-v',
    'error',
    '-i',
    video,
    '-t',
    values.seconds!,
    '-vf',
    `scale=${w}:${h},fps=${fps}`,
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-crf',
    '30',
    '-g',
    String(g),
    '-keyint_min',
    String(g),
    '-sc_threshold',
    '0',
    '-f',
    'hls',
    '-hls_time',
    values.segment!,
    '-hls_playlist_type',
    'vod',
    '-hls_segment_filename',
    path.join(dir, 'seg_%03d.ts'),
    path.join(dir, 'index.m3u8'),
  ]);
  return dir;
}

/**
 * Decodes a TS segment to yuv420p frames (bytes) with ffmpeg, one output frame per coded frame
 * (passthrough: the rawvideo muxer's default constant-rate sync would fill a timestamp gap with
 * duplicates, which turned a 2-frame 0.2 s segment into ~9000 frames).
 */
const decode = (file: string): Promise<Buffer> =>
  run('ffmpeg', ['-v', 'error', '-i', file, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-']);

function psnr(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`frame data sizes differ: ${a.length} vs ${b.length}`);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

async function main(): Promise<void> {
  const moto = await startMoto();
  const work = await mkdtemp(path.join(tmpdir(), 'swiftvr-shards-'));
  const children: ChildProcess[] = [];
  try {
    const s3 = makeS3Client({ region: 'us-east-1', endpoint: moto.endpoint });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const store = new S3ObjectStore({ bucket: BUCKET, client: s3 });
    const inputDir = values.video === undefined ? values.input! : await makeInput(values.video, await mkdtemp(path.join(work, 'in-')));
    for (const name of ['seq', 'par']) await uploadDir(store, inputDir, `input/${name}`);
    const sqs = makeSqsClient({ region: 'us-east-1', endpoint: moto.endpoint });

    /** utime+stime+cutime+cstime of a live process, seconds (Linux /proc; NaN elsewhere). */
    const cpuSeconds = async (pid: number | undefined): Promise<number> => {
      try {
        const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100; // fields 14-17; USER_HZ 100
      } catch {
        return NaN;
      }
    };
    const runs: Record<string, { workerCpuSeconds: number; load1mStart: number; load1mEnd: number }> = {};
    const timeRun = async (name: string, workers: number, nShards: number): Promise<number> => {
      const { queueUrl } = await createFifoQueues(sqs, `bench-${name}`, 3, 60);
      const ready: Promise<void>[] = [];
      const published = new Promise<number>((resolve, reject) => {
        for (let i = 0; i < workers; i++) {
          const child = spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              'src/cli/main.ts',
              'worker',
              '--queue-url',
              queueUrl,
              '--bucket',
              BUCKET,
              '--endpoint',
              moto.endpoint,
              '--source-prefix',
              'input',
              '--model',
              values.model!,
              '--ep',
              'cpu',
              '--threads',
              values.threads!,
              '--encoder',
              'libx264',
              '--visibility-timeout',
              '60',
              '--heartbeat',
              '10',
              '--wait-time',
              '1',
              '--worker-id',
              `${name}-${i}`,
            ],
            { cwd: REPO, env: { ...process.env, ...moto.env }, stdio: ['ignore', 'pipe', 'inherit'] },
          );
          children.push(child);
          child.on('exit', (code) => code !== 0 && code !== null && reject(new Error(`worker ${name}-${i} exited ${code}`)));
          ready.push(
            new Promise((r) =>
              createInterface({ input: child.stdout! }).on('line', (line) => {
                if (line.includes('"worker-started"')) r();
                if (line.includes('"vod-published"')) resolve(performance.now());
                if (line.includes('"event":"error"')) process.stderr.write(`${line}\n`);
              }),
            ),
          );
        }
      });
      await Promise.all(ready);
      const q = new SqsQueue<JobMessage>({ client: sqs, queueUrl });
      const cpu0 = (await Promise.all(children.map((c) => cpuSeconds(c.pid)))).reduce((a, b) => a + b, 0);
      const load1mStart = loadavg()[0]!;
      const t0 = performance.now();
      await submitJob(q, jobMessageOf({ input: `s3://${BUCKET}/input/${name}/index.m3u8`, live: false, shards: nShards }, 'input'));
      const t1 = await published;
      const cpu1 = (await Promise.all(children.map((c) => cpuSeconds(c.pid)))).reduce((a, b) => a + b, 0);
      runs[name] = {
        workerCpuSeconds: Math.round((cpu1 - cpu0) * 100) / 100,
        load1mStart: Math.round(load1mStart * 100) / 100,
        load1mEnd: Math.round(loadavg()[0]! * 100) / 100,
      };
      for (const c of children.splice(0)) c.kill('SIGTERM');
      return (t1 - t0) / 1000;
    };

    const seqSeconds = await timeRun('seq', 1, 1);
    const parSeconds = await timeRun('par', shards, shards);

    // Seam PSNR: decode both outputs of every segment and compare.
    const rec = JSON.parse(new TextDecoder().decode((await store.get('output/par/index/job.json'))!.body)) as {
      segments: { sn: number }[];
    };
    const sns = rec.segments.map((s) => s.sn);
    const n = sns.length;
    const count = Math.min(shards, n);
    const shardStarts = new Set(Array.from({ length: count }, (_, i) => sns[Math.floor((i * n) / count)]!).slice(1));
    const perSegment: { sn: number; seam: boolean; psnr: number; identicalBytes: boolean }[] = [];
    for (const sn of sns) {
      const key = (job: string): string => `output/${job}/index/restored/seg_${String(sn).padStart(6, '0')}.ts`;
      const [a, b] = await Promise.all([store.get(key('seq')), store.get(key('par'))]);
      const fa = path.join(work, `seq-${sn}.ts`);
      const fb = path.join(work, `par-${sn}.ts`);
      await Promise.all([writeFile(fa, a!.body), writeFile(fb, b!.body)]);
      const [da, db] = await Promise.all([decode(fa), decode(fb)]);
      perSegment.push({
        sn,
        seam: shardStarts.has(sn),
        psnr: psnr(da, db),
        identicalBytes: Buffer.compare(Buffer.from(a!.body), Buffer.from(b!.body)) === 0,
      });
    }
    const seams = perSegment.filter((s) => s.seam);
    const fmt = (v: number): string | number => (Number.isFinite(v) ? Math.round(v * 100) / 100 : 'inf (identical)');
    const report = {
      input: values.video ?? values.input,
      segments: n,
      shards: count,
      model: path.relative(REPO, values.model!),
      cpus: cpus().length,
      sequentialSeconds: Math.round(seqSeconds * 100) / 100,
      shardedSeconds: Math.round(parSeconds * 100) / 100,
      speedUp: Math.round((seqSeconds / parSeconds) * 100) / 100,
      // CPU seconds / wall seconds = cores the workers kept busy on average.
      sequential: { ...runs.seq, coresBusy: Math.round((runs.seq!.workerCpuSeconds / seqSeconds) * 100) / 100 },
      sharded: { ...runs.par, coresBusy: Math.round((runs.par!.workerCpuSeconds / parSeconds) * 100) / 100 },
      seamPsnrDb: seams.map((s) => ({ sn: s.sn, psnr: fmt(s.psnr), identicalBytes: s.identicalBytes })),
      minSeamPsnrDb: fmt(Math.min(...seams.map((s) => s.psnr))),
      otherSegments: perSegment.filter((s) => !s.seam).map((s) => ({ sn: s.sn, psnr: fmt(s.psnr), identicalBytes: s.identicalBytes })),
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await moto.stop();
    if (values.keep === true) console.error(`work folder kept: ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main();
