// A live source that grows while a worker follows it (S3 + SQS FIFO on moto). Every version of
// the upscaled rendition playlist the worker writes is captured and checked against RFC 8216
// §6.2.2 with an independent parser (hls-parser), and against the store at the moment it was written.

import HLS from 'hls-parser';
import type { MediaPlaylist } from 'hls-parser/types.js';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobMessage } from '../../src/cloud/jobs.js';
import { bytesToText, type GetOptions, type ObjectStore, type PutOptions } from '../../src/cloud/object-store/object-store.js';
import { FsObjectStore } from '../../src/cloud/object-store/fs-object-store.js';
import type { S3ObjectStore } from '../../src/cloud/object-store/s3-object-store.js';
import { MemoryQueue } from '../../src/cloud/queue/memory-queue.js';
import { makeSqsClient, SqsQueue } from '../../src/cloud/queue/sqs-queue.js';
import { readJobStatus } from '../../src/cloud/status.js';
import { jobMessageOf, submitJob } from '../../src/cloud/submit.js';
import { FIXTURE_TS, makeWorker, until, type LogLine } from './cloud-harness.js';
import { startMotoWithBucket, type Moto } from './moto-server.js';
import { createFifoQueues } from './sqs-setup.js';

/** Delegates to a real store; records each rendition playlist version and whether its segments existed then. */
class RecordingStore implements ObjectStore {
  readonly versions: { text: string; missing: string[] }[] = [];
  constructor(
    private readonly inner: ObjectStore,
    private readonly watch: string,
  ) {}
  get name(): string {
    return this.inner.name;
  }
  get bucket(): string {
    return this.inner.bucket;
  }
  get(key: string, o?: GetOptions) {
    return this.inner.get(key, o);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  async put(key: string, body: Uint8Array | string, o?: PutOptions) {
    if (key !== this.watch) return this.inner.put(key, body, o);
    const text = typeof body === 'string' ? body : bytesToText(body);
    const dir = path.posix.dirname(key);
    const uris = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const missing: string[] = [];
    for (const u of uris) if ((await this.inner.head(`${dir}/${u}`)) === undefined) missing.push(u);
    const r = await this.inner.put(key, body, o);
    this.versions.push({ text, missing });
    return r;
  }
}

const BUCKET = 'live';
const SEGMENTS = 10;
const WINDOW = 6;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const pdtOf = (sn: number): string => new Date(T0 + sn * 1000).toISOString();

/** The source playlist after `n` segments: 1 s segments, a discontinuity every 3 (the clip restarts), PDT on each. */
function sourcePlaylist(n: number, ended: boolean): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0'];
  for (let sn = 0; sn < n; sn++) {
    if (sn > 0 && sn % 3 === 0) lines.push('#EXT-X-DISCONTINUITY');
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${pdtOf(sn)}`, '#EXTINF:1.000,', `seg_${sn}.ts`);
  }
  if (ended) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}

let moto: Moto;
let s3store: S3ObjectStore;

beforeAll(async () => {
  ({ moto, store: s3store } = await startMotoWithBucket(BUCKET));
});

afterAll(async () => {
  await moto?.stop();
});

const parse = (text: string): MediaPlaylist => {
  const p = HLS.parse(text);
  if (p.isMasterPlaylist) throw new Error('expected a media playlist');
  return p as MediaPlaylist;
};
const snOf = (uri: string): number => Number(/seg_(\d+)\.ts$/.exec(uri)![1]);

describe('live rendition while the source grows (RFC 8216 §6.2.2)', () => {
  it('follows the source and keeps every playlist version valid', async () => {
    const rendition = 'output/show/index/restored/media.m3u8';
    const store = new RecordingStore(s3store, rendition);
    const sqs = makeSqsClient({ region: 'us-east-1', endpoint: moto.endpoint });
    const { queueUrl } = await createFifoQueues(sqs, 'live', 3, 5);
    const queue = new SqsQueue<JobMessage>({ client: sqs, queueUrl });
    const logs: LogLine[] = [];
    const worker = makeWorker(store, queue, logs, { workerId: 'live', liveWindow: WINDOW, livePollMs: 100 });
    const segBytes = await Promise.all([0, 1, 2].map((i) => readFile(path.join(FIXTURE_TS, `96x64/seg_00${i}.ts`))));

    // The packager: a segment is uploaded before the playlist that lists it.
    const publishSource = async (n: number, ended: boolean): Promise<void> => {
      if (n > 0) await s3store.put(`input/show/seg_${n - 1}.ts`, new Uint8Array(segBytes[(n - 1) % 3]!));
      await s3store.put('input/show/index.m3u8', sourcePlaylist(n, ended));
    };
    await publishSource(1, false);
    await publishSource(2, false);
    await worker.start();
    await submitJob(queue, jobMessageOf({ input: `s3://${BUCKET}/input/show/index.m3u8`, live: true, shards: 1 }, 'input'));
    for (let n = 3; n <= SEGMENTS; n++) {
      // The source grows once the rendition has caught up with it (each version lists one more segment).
      await until(() => store.versions.length >= n - 1, 60_000, `rendition version ${n - 1}`);
      await publishSource(n, false);
    }
    await publishSource(SEGMENTS, true);
    await until(() => store.versions.some((v) => v.text.includes('#EXT-X-ENDLIST')), 90_000, 'ENDLIST published');
    await worker.stop();

    const versions = store.versions.map((v) => ({ ...v, p: parse(v.text) }));
    expect(versions.length).toBeGreaterThanOrEqual(SEGMENTS);
    const seenMsn = new Map<string, number>();
    const seenDsn = new Map<string, number>();
    versions.forEach(({ text, missing, p }, i) => {
      const at = `version ${i + 1}:\n${text}`;
      // "The server MUST NOT ... a Media Segment URI ... before the segment is available" (§6.2.1/§6.2.2 ordering).
      expect(missing, at).toEqual([]);
      // "EXT-X-PLAYLIST-TYPE ... MUST NOT" be present while the playlist may still change (§6.2.2 live form).
      expect(p.playlistType, at).toBeUndefined();
      // "The EXT-X-TARGETDURATION value ... MUST NOT change" (§6.2.1).
      expect(p.targetDuration, at).toBe(1);
      // EXT-X-ENDLIST only once the source ended: in the last version only.
      expect(p.endlist, at).toBe(i === versions.length - 1);
      // Window: at least WINDOW segments once that many exist, never fewer than 3 target durations of content.
      const total = p.segments.reduce((s, x) => s + x.duration, 0);
      const appended = snOf(p.segments.at(-1)!.uri) + 1;
      expect(p.segments.length, at).toBe(Math.min(appended, WINDOW));
      if (appended >= 3) expect(total, at).toBeGreaterThanOrEqual(3 * p.targetDuration);
      for (const s of p.segments) {
        // Media sequence and discontinuity sequence numbers of a segment never change between versions (§6.2.2).
        if (seenMsn.has(s.uri)) expect(s.mediaSequenceNumber, `${s.uri} in ${at}`).toBe(seenMsn.get(s.uri));
        if (seenDsn.has(s.uri)) expect(s.discontinuitySequence, `${s.uri} in ${at}`).toBe(seenDsn.get(s.uri));
        seenMsn.set(s.uri, s.mediaSequenceNumber);
        seenDsn.set(s.uri, s.discontinuitySequence);
        // The output's sequence number is the source's; PROGRAM-DATE-TIME is carried from the source.
        expect(s.mediaSequenceNumber).toBe(snOf(s.uri));
        expect(s.programDateTime?.getTime(), `${s.uri} PROGRAM-DATE-TIME`).toBe(Date.parse(pdtOf(snOf(s.uri))));
        expect(s.duration).toBe(1);
        expect(s.discontinuitySequence).toBe(Math.floor(snOf(s.uri) / 3));
      }
      if (i === 0) return;
      const prev = versions[i - 1]!.p;
      // "The server MUST NOT change the Media Playlist file, except to: Append lines to it;
      // Remove Media Segment URIs from the Playlist in the order that they appear ...;
      // Increment the value of the EXT-X-MEDIA-SEQUENCE or EXT-X-DISCONTINUITY-SEQUENCE tags; Add an EXT-X-ENDLIST tag."
      const removed = p.mediaSequenceBase! - prev.mediaSequenceBase!;
      expect(removed, at).toBeGreaterThanOrEqual(0);
      const kept = prev.segments.slice(removed).map((s) => s.uri);
      expect(
        p.segments.slice(0, kept.length).map((s) => s.uri),
        at,
      ).toEqual(kept);
      expect(p.segments.length - kept.length, at).toBeLessThanOrEqual(1);
      // "If the server removes a Media Segment ... with an EXT-X-DISCONTINUITY tag, it MUST increment
      // the value of the EXT-X-DISCONTINUITY-SEQUENCE tag."
      const removedDisc = prev.segments.slice(0, removed).filter((s) => s.discontinuity).length;
      expect((p.discontinuitySequenceBase ?? 0) - (prev.discontinuitySequenceBase ?? 0), at).toBe(removedDisc);
    });
    // Nothing lost, nothing twice: every source segment was listed, in order.
    const listed = [...new Set(versions.flatMap((v) => v.p.segments.map((s) => snOf(s.uri))))];
    expect(listed).toEqual(Array.from({ length: SEGMENTS }, (_, i) => i));
    expect(logs.filter((l) => l.event === 'segment-done').map((l) => l.sn)).toEqual(listed);
    const last = versions.at(-1)!.p;
    expect(last.mediaSequenceBase).toBe(SEGMENTS - WINDOW);
    expect(last.discontinuitySequenceBase).toBe(1); // sn 3 (with its DISCONTINUITY) left the window
    const status = await readJobStatus(s3store, 'output', 'show/index');
    expect(status).toMatchObject({ mode: 'live', segmentsDone: SEGMENTS, ended: true, errors: [] });
    expect(status.lagSeconds).toBeGreaterThan(0);
  });

  it('a stopping worker hands a live follow back at a segment boundary; another resumes it with nothing lost or doubled', async () => {
    const rendition = 'output/cam/index/restored/media.m3u8';
    const sqs = makeSqsClient({ region: 'us-east-1', endpoint: moto.endpoint });
    const { queueUrl } = await createFifoQueues(sqs, 'handback', 5, 3);
    const queue = new SqsQueue<JobMessage>({ client: sqs, queueUrl });
    const segBytes = await Promise.all([0, 1, 2].map((i) => readFile(path.join(FIXTURE_TS, `96x64/seg_00${i}.ts`))));
    const publishSource = async (n: number, ended: boolean): Promise<void> => {
      for (let sn = 0; sn < n; sn++) await s3store.put(`input/cam/seg_${sn}.ts`, new Uint8Array(segBytes[sn % 3]!));
      await s3store.put('input/cam/index.m3u8', sourcePlaylist(n, ended));
    };
    await publishSource(2, false);
    const logsA: LogLine[] = [];
    const a = makeWorker(s3store, queue, logsA, { workerId: 'a', livePollMs: 100 });
    await a.start();
    await submitJob(queue, jobMessageOf({ input: `s3://${BUCKET}/input/cam/index.m3u8`, live: true, shards: 1 }, 'input'));
    await until(() => logsA.filter((l) => l.event === 'segment-done').length === 2, 60_000, 'two segments');
    const t0 = Date.now();
    await a.stop(); // the source has not ended: without hand-back this would wait for ENDLIST
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(logsA.find((l) => l.event === 'handed-back')).toMatchObject({ type: 'live', after: 1, reason: 'worker stopping' });
    expect(logsA.filter((l) => l.event === 'error')).toEqual([]);

    await publishSource(4, true);
    const logsB: LogLine[] = [];
    const b = makeWorker(s3store, queue, logsB, { workerId: 'b', livePollMs: 100 });
    await b.start();
    await until(
      async () => bytesToText((await s3store.get(rendition))?.body ?? new Uint8Array()).includes('#EXT-X-ENDLIST'),
      60_000,
      'resumed to ENDLIST',
    );
    await b.stop();
    expect(logsB.filter((l) => l.event === 'segment-done').map((l) => l.sn)).toEqual([2, 3]);
    expect(logsB.find((l) => l.event === 'state-loaded')).toMatchObject({ sn: 2, from: 1 });
    const text = bytesToText((await s3store.get(rendition))!.body);
    expect(text.match(/^seg_\d+\.ts$/gm)).toEqual(['seg_000000.ts', 'seg_000001.ts', 'seg_000002.ts', 'seg_000003.ts']);
  });

  it('a follow longer than the handler timeout continues as a fresh message instead of drifting to the DLQ', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-longlive-'));
    try {
      const store = new FsObjectStore(dir);
      const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
      const seg = await readFile(path.join(FIXTURE_TS, '96x64/seg_000.ts'));
      const publish = async (n: number, ended: boolean): Promise<void> => {
        for (let sn = 0; sn < n; sn++) await store.put(`input/long/seg_${sn}.ts`, new Uint8Array(seg));
        await store.put('input/long/index.m3u8', sourcePlaylist(n, ended).replaceAll('#EXT-X-DISCONTINUITY\n', ''));
      };
      await publish(2, false);
      const logs: LogLine[] = [];
      const w = makeWorker(store, queue, logs, {
        workerId: 'long',
        livePollMs: 100,
        consume: { handlerTimeoutMs: 8000, heartbeatSeconds: 1, visibilityTimeoutSeconds: 5 },
      });
      await w.start();
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/long/index.m3u8', live: true, shards: 1 }, 'input'));
      await until(() => logs.filter((l) => l.event === 'handed-back').length >= 1, 30_000, 'a hand-off');
      await publish(3, true);
      await until(() => queue.depth === 0, 30_000, 'follow finished');
      await w.stop();
      expect(logs.filter((l) => l.event === 'handed-back').every((l) => l.reason === 'handler timeout near')).toBe(true);
      expect(logs.filter((l) => l.event === 'error')).toEqual([]);
      expect(queue.deadLetters).toEqual([]);
      const text = bytesToText((await store.get('output/long/index/restored/media.m3u8'))!.body);
      expect(text.match(/^seg_\d+\.ts$/gm)).toEqual(['seg_000000.ts', 'seg_000001.ts', 'seg_000002.ts']);
      expect(text).toContain('#EXT-X-ENDLIST');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a live fMP4 source: the init section is published once and every version carries EXT-X-MAP', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'swiftvr-livefmp4-'));
    try {
      const store = new FsObjectStore(dir);
      const queue = new MemoryQueue<JobMessage>({ maxReceives: 2 });
      const fmp4 = path.join(FIXTURE_TS, '../fmp4/96x64');
      await store.put('input/f/init.mp4', new Uint8Array(await readFile(path.join(fmp4, 'init.mp4'))));
      const publish = async (n: number, ended: boolean): Promise<void> => {
        for (let sn = 0; sn < n; sn++)
          await store.put(`input/f/seg_${sn}.m4s`, new Uint8Array(await readFile(path.join(fmp4, `seg_00${sn}.m4s`))));
        const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-MAP:URI="init.mp4"'];
        for (let sn = 0; sn < n; sn++) lines.push('#EXTINF:1.000,', `seg_${sn}.m4s`);
        if (ended) lines.push('#EXT-X-ENDLIST');
        await store.put('input/f/index.m3u8', lines.join('\n') + '\n');
      };
      await publish(1, false);
      const logs: LogLine[] = [];
      const w = makeWorker(store, queue, logs, { workerId: 'fmp4', livePollMs: 100 });
      await w.start();
      await submitJob(queue, jobMessageOf({ input: 's3://local/input/f/index.m3u8', live: true, shards: 1 }, 'input'));
      await until(() => logs.some((l) => l.event === 'segment-done'), 30_000, 'first segment');
      await publish(3, true);
      await until(() => queue.depth === 0, 30_000, 'follow finished');
      await w.stop();
      const text = bytesToText((await store.get('output/f/index/restored/media.m3u8'))!.body);
      const p = parse(text);
      expect(p.version).toBe(6);
      expect(p.segments.map((x) => [x.uri, x.map?.uri])).toEqual([
        ['seg_000000.m4s', 'init.mp4'],
        ['seg_000001.m4s', 'init.mp4'],
        ['seg_000002.m4s', 'init.mp4'],
      ]);
      expect(p.endlist).toBe(true);
      const init = (await store.get('output/f/index/restored/init.mp4'))!.body;
      expect(Buffer.from(init.subarray(4, 8)).toString()).toBe('ftyp');
      // Init + a media segment decode as the upscaled picture.
      const joined = path.join(dir, 'joined.mp4');
      await writeFile(joined, Buffer.concat([init, (await store.get('output/f/index/restored/seg_000001.m4s'))!.body]));
      const probe = await promisify(execFile)('ffprobe', [
        '-v',
        'error',
        '-select_streams',
        'v:0',
        '-count_frames',
        '-show_entries',
        'stream=width,height,nb_read_frames',
        '-of',
        'csv=p=0',
        joined,
      ]);
      expect(probe.stdout.trim()).toBe('192,128,10');
      expect((await store.list('output/f/index/restored/')).map((o) => o.key.split('/').at(-1))).toEqual([
        'init.mp4',
        'media.m3u8',
        'seg_000000.m4s',
        'seg_000001.m4s',
        'seg_000002.m4s',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
