// The cloud worker: takes job messages from the queue and runs them against the object store.
//   vod      read the source, write the job record, fan out segment messages (per shard group)
//   live     follow the source playlist until EXT-X-ENDLIST, restoring new segments in order
//   segment  restore one segment with carried state, then publish it
// Publishing order for one segment (what makes a crash at any point harmless):
//   checkpoint(sn)  ->  segment object (create-once)  ->  playlist (If-Match)  ->  metrics
// A redelivered message whose segment and checkpoint exist skips straight to publishing.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SwiftvrError, isSwiftvrError, withContext } from '../errors.js';
import { measureBandwidth, renderMultivariantPlaylist } from '../hls/playlist-writer.js';
import { checkS3Key, policyForInput } from '../hls/uri-policy.js';
import type { Restorer } from '../inference/restorer.js';
import { prepareSegment, restoreSegment, type EncoderChoice, type SegmentInput } from '../pipeline/segment.js';
import type { ContainerKind, SourcePlan } from '../types.js';
import {
  dedupOf,
  groupOf,
  JobLayout,
  jobIdOf,
  parseJobMessage,
  segmentMessages,
  STATE_TAG,
  type JobMessage,
  type JobRecord,
  type SegmentMessage,
  type SegmentSpec,
  type StreamSpec,
} from './jobs.js';
import { appendLive, parsePlaylist, renderPlaylist, type RenditionEntry, type RenditionPlaylist } from './live-playlist.js';
import { segmentMetricsLine, type SegmentMetrics } from './metrics.js';
import { bytesToText, isPreconditionFailed, type ObjectStore } from './object-store/object-store.js';
import type { ConsumeOptions, JobQueue, ReceivedMessage, RunningConsumer } from './queue/job-queue.js';
import { mediaKeyOf, readStoredPlan, segmentSpecOf } from './source.js';
import { taskProtection, type TaskProtection } from './task-protection.js';

export interface WorkerOptions {
  readonly store: ObjectStore;
  readonly queue: JobQueue<JobMessage>;
  /** Opens one restorer (an inference thread with its session) per concurrency slot. */
  readonly openRestorer: () => Promise<Restorer>;
  readonly sourcePrefix: string;
  readonly outputPrefix: string;
  readonly consume: ConsumeOptions;
  /** Segments kept in live renditions (>= 6). */
  readonly liveWindow: number;
  /** How often a live follower re-reads the source playlist, ms. */
  readonly livePollMs: number;
  /** A live source that gains no segment for this long fails the follow (the message comes back). */
  readonly liveIdleTimeoutMs: number;
  readonly encoder: EncoderChoice;
  /** Name in metrics and error records. */
  readonly workerId?: string;
  /** Structured log lines (JSON objects); default: one JSON line on stdout. */
  readonly log?: (line: Record<string, unknown>) => void;
  /** ECS agent endpoint ($ECS_AGENT_URI) for task scale-in protection while a message is in flight. */
  readonly ecsAgentUri?: string;
}

/** One concurrency slot: a restorer and which (job, sn) its carried state belongs to. */
interface Slot {
  readonly restorer: Restorer;
  at: { job: string; sn: number } | undefined;
  busy: boolean;
}

export type SegmentOutcome = 'restored' | 'skipped';

export class Worker {
  readonly o: WorkerOptions;
  readonly workerId: string;
  private readonly log: (line: Record<string, unknown>) => void;
  private slots: Slot[] = [];
  private consumer: RunningConsumer | undefined;
  private maxReceives: number | undefined;
  private workDir: string | undefined;
  private readonly protection: TaskProtection;
  /** Set by stop(): long live follows hand their message back at the next segment boundary. */
  private draining = false;

  constructor(options: WorkerOptions) {
    this.o = options;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}`;
    this.log = options.log ?? ((line) => process.stdout.write(`${JSON.stringify(line)}\n`));
    this.protection = taskProtection({ agentUri: options.ecsAgentUri, log: this.log });
  }

  /** Opens the model sessions and starts consuming. */
  async start(): Promise<void> {
    this.workDir = await mkdtemp(path.join(tmpdir(), 'swiftvr-worker-'));
    for (let i = 0; i < this.o.consume.concurrency; i++) {
      this.slots.push({ restorer: await this.o.openRestorer(), at: undefined, busy: false });
    }
    this.maxReceives = await this.o.queue.maxReceives();
    this.consumer = this.o.queue.consume((m) => this.handle(m), {
      ...this.o.consume,
      onQueueError: (e) => this.log({ event: 'queue-error', message: e instanceof Error ? e.message : String(e) }),
    });
    this.log({ event: 'worker-started', worker: this.workerId, queue: this.o.queue.name, store: this.o.store.name, slots: this.slots.length });
  }

  /** Stops taking messages, waits for in-flight ones (drain), releases the sessions. */
  async stop(): Promise<void> {
    this.draining = true;
    await this.consumer?.stop();
    this.consumer = undefined;
    this.protection.close();
    for (const s of this.slots) await s.restorer.close();
    this.slots = [];
    if (this.workDir !== undefined) await rm(this.workDir, { recursive: true, force: true });
    this.log({ event: 'worker-stopped', worker: this.workerId });
  }

  /** One queue message. Throws to have it redelivered (and, after maxReceives, dead-lettered). */
  async handle(received: ReceivedMessage<JobMessage>): Promise<void> {
    const receivedAt = Date.now();
    let message: JobMessage | undefined;
    await this.protection.acquire();
    try {
      message = parseJobMessage(received.body);
      switch (message.type) {
        case 'vod':
          await this.fanOutVod(message, received.signal);
          return;
        case 'live':
          await this.followLive(message, received.signal);
          return;
        case 'segment':
          await this.runSegment(message, {
            signal: received.signal,
            queueWaitSeconds: Math.max(0, (receivedAt - received.sentAt.getTime()) / 1000),
            availableAt: received.sentAt,
            attempt: received.receiveCount,
          });
          return;
      }
    } catch (e) {
      await this.recordError(message ?? received.body, e, received.receiveCount);
      throw e;
    } finally {
      await this.protection.release();
    }
  }

  // ---- vod -------------------------------------------------------------------------------

  private async fanOutVod(m: Extract<JobMessage, { type: 'vod' }>, signal: AbortSignal): Promise<void> {
    const { store } = this.o;
    const plan = await readStoredPlan(store, m.sourceKey, signal);
    const stream = this.streamOf(plan, m.job, 'vod');
    const specs = plan.media.segments.map((s) => segmentSpecOf(s, store));
    await this.writeRecord(plan, m.sourceKey, stream, m.shards, specs);
    // Re-running a fan-out (redelivery) re-sends the same dedup ids: dropped, or skipped by the worker.
    const messages = segmentMessages(stream, specs, { shards: m.shards, endList: true });
    for (const sm of messages) await this.o.queue.send(sm, { group: groupOf(sm), dedupId: dedupOf(sm) });
    this.log({ event: 'vod-fanned-out', job: m.job, segments: specs.length, shards: Math.min(m.shards, specs.length) });
  }

  // ---- live ------------------------------------------------------------------------------

  private async followLive(m: Extract<JobMessage, { type: 'live' }>, signal: AbortSignal): Promise<void> {
    const { store } = this.o;
    const layout = new JobLayout(this.o.outputPrefix, m.job);
    // Resume after the newest segment the rendition already lists.
    const current = await this.readRendition(layout);
    let done = current?.playlist.entries.at(-1)?.sourceSn ?? -1;
    if (current?.playlist.ended === true) return;
    const firstSeen = new Map<number, Date>();
    let lastProgress = Date.now();
    let recorded = false;
    const started = Date.now();
    // A follow outlives any one delivery: when this worker stops, or the handler timeout nears,
    // the follow continues as a fresh message (fresh receive count, so it never drifts to the
    // DLQ) and this one completes. Another worker resumes from the rendition and checkpoints.
    const handBack = async (): Promise<boolean> => {
      const late = Date.now() - started > 0.8 * this.o.consume.handlerTimeoutMs;
      if (!this.draining && !late) return false;
      const next: JobMessage = { type: 'live', job: m.job, sourceKey: m.sourceKey };
      await this.o.queue.send(next, { group: `${m.job}#live`, dedupId: `live:${m.job}:after:${done}:${Date.now()}` });
      this.log({ event: 'handed-back', type: 'live', job: m.job, after: done, reason: this.draining ? 'worker stopping' : 'handler timeout near' });
      return true;
    };
    for (;;) {
      signal.throwIfAborted();
      if (await handBack()) return;
      const plan = await readStoredPlan(store, m.sourceKey, signal);
      const stream = this.streamOf(plan, m.job, 'live');
      const specs = plan.media.segments.map((s) => segmentSpecOf(s, store));
      if (!recorded) {
        await this.writeRecord(plan, m.sourceKey, stream, 1, undefined);
        recorded = true;
      }
      const now = new Date();
      for (const s of specs) if (!firstSeen.has(s.sn)) firstSeen.set(s.sn, now);
      const messages = segmentMessages(stream, specs, { shards: 1, endList: plan.media.endList });
      for (const sm of messages) {
        if (sm.segment.sn <= done && !(sm.last && sm.segment.sn === done)) continue;
        await this.runSegment(sm, { signal, queueWaitSeconds: 0, availableAt: firstSeen.get(sm.segment.sn) ?? now, attempt: 1 });
        done = sm.segment.sn;
        lastProgress = Date.now();
        if (sm.last) return;
        if (await handBack()) return;
      }
      if (plan.media.endList) return;
      if (Date.now() - lastProgress > this.o.liveIdleTimeoutMs) {
        throw new SwiftvrError('transient', `live source ${m.sourceKey} gained no segment for ${this.o.liveIdleTimeoutMs} ms and has no EXT-X-ENDLIST`, {
          context: { stream: m.job, uri: m.sourceKey },
        });
      }
      await sleep(this.o.livePollMs, undefined, { signal });
    }
  }

  // ---- segment ---------------------------------------------------------------------------

  private async runSegment(
    m: SegmentMessage,
    t: { signal: AbortSignal; queueWaitSeconds: number; availableAt: Date; attempt: number },
  ): Promise<SegmentOutcome> {
    const { store } = this.o;
    const { job } = m.stream;
    const sn = m.segment.sn;
    const layout = new JobLayout(this.o.outputPrefix, job);
    const segKey = layout.segment(sn, m.stream.container);
    this.checkSourceKeys(m);
    this.log({ event: 'segment-start', job, sn, attempt: t.attempt, worker: this.workerId });
    const started = performance.now();

    const [segHead, ckHead] = await Promise.all([store.head(segKey), store.head(layout.checkpoint(sn))]);
    if (segHead !== undefined && ckHead !== undefined) {
      // Done before (a duplicate, or a crash after upload): publishing again is harmless.
      await this.publish(m, layout, segHead.size, undefined);
      this.log({ event: 'segment-skipped', job, sn, reason: 'segment and checkpoint already stored' });
      return 'skipped';
    }

    const slot = this.takeSlot(job, sn);
    try {
      await this.prepareState(slot, m, layout, t.signal);
      const input = await this.fetchInput(m.segment, m.stream.container, t.signal);
      const dir = await mkdtemp(path.join(this.workDir ?? tmpdir(), 'seg-'));
      try {
        const outPath = path.join(dir, `out.${m.stream.container === 'ts' ? 'ts' : 'm4s'}`);
        const initOutPath = m.stream.container === 'fmp4' ? path.join(dir, 'init.mp4') : undefined;
        const { encoded, result } = await restoreSegment(input, slot.restorer, { outPath, encoder: this.o.encoder, ...(initOutPath ? { initOutPath } : {}) }, {
          workDir: dir,
          signal: t.signal,
        });
        const body = new Uint8Array(await readFile(encoded.path));
        // 1. checkpoint: deterministic for a given input state, so overwriting is harmless.
        await store.put(layout.checkpoint(sn), await slot.restorer.snapshot(), {
          contentType: 'application/octet-stream',
          // The bucket's lifecycle rule expires checkpoints by this tag.
          tags: { [STATE_TAG.key]: STATE_TAG.value },
        });
        slot.at = { job, sn };
        // 2. init section (fMP4) and segment, each created once.
        if (encoded.initPath !== undefined) {
          await this.putOnce(layout.init(m.segment.discontinuitySequence), new Uint8Array(await readFile(encoded.initPath)), 'video/mp4', true);
        }
        await this.putOnce(segKey, body, m.stream.container === 'ts' ? 'video/mp2t' : 'video/iso.segment', false);
        // 3. playlist(s)
        const publishedAt = await this.publish(m, layout, body.length, encoded.codecs);
        // 4. metrics
        const seconds = (performance.now() - started) / 1000;
        const metrics: SegmentMetrics = {
          job,
          sn,
          frames: result.frames,
          fps: seconds > 0 ? result.frames / seconds : 0,
          processingSeconds: seconds,
          queueWaitSeconds: t.queueWaitSeconds,
          ...(m.stream.mode === 'live' ? { lagSeconds: lagOf(m.segment, t.availableAt, publishedAt) } : {}),
          bytes: body.length,
          duration: m.segment.duration,
          codecs: encoded.codecs,
          attempt: t.attempt,
          worker: this.workerId,
          at: new Date(publishedAt).toISOString(),
        };
        await store.put(layout.metrics(sn), JSON.stringify(metrics), { contentType: 'application/json' });
        this.log(segmentMetricsLine(metrics));
        return 'restored';
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } catch (e) {
      // The slot's state is now unknown (half a segment ran).
      await slot.restorer.reset().catch(() => {});
      slot.at = undefined;
      throw withContext(e, { stream: job, sn });
    } finally {
      slot.busy = false;
    }
  }

  /** Segment keys in a message must stay in the media playlist's folder, as the reader checked. */
  private checkSourceKeys(m: SegmentMessage): void {
    const policy = policyForInput({ kind: 's3', bucket: this.o.store.bucket, key: m.stream.mediaKey });
    for (const s of m.prev === undefined ? [m.segment] : [m.prev, m.segment]) {
      checkS3Key(this.o.store.bucket, s.key, policy);
      if (s.mapKey !== undefined) checkS3Key(this.o.store.bucket, s.mapKey, policy);
    }
  }

  /** A free slot, preferring the one whose state ends at sn - 1 of this job. */
  private takeSlot(job: string, sn: number): Slot {
    const free = this.slots.filter((s) => !s.busy);
    const slot = free.find((s) => s.at?.job === job && s.at.sn === sn - 1) ?? free.find((s) => s.at === undefined) ?? free[0];
    if (slot === undefined) throw new SwiftvrError('internal', `no free restorer slot of ${this.slots.length} (concurrency and slots disagree)`);
    slot.busy = true;
    return slot;
  }

  /**
   * Brings the slot's state to "after segment sn - 1": in memory already, else the checkpoint,
   * else warm on segment sn - 1 (output discarded), else start from zeros. The first segment of
   * a shard always warms, so a shard's output never depends on which shard finished first.
   */
  private async prepareState(slot: Slot, m: SegmentMessage, layout: JobLayout, signal: AbortSignal): Promise<void> {
    const { job } = m.stream;
    const sn = m.segment.sn;
    const shardStart = m.shard !== undefined && m.shard.index > 0 && sn === m.shard.first;
    if (!shardStart && slot.at?.job === job && slot.at.sn === sn - 1) return;
    slot.at = undefined;
    await slot.restorer.reset();
    if (m.prev === undefined) return;
    if (!shardStart) {
      const ck = await this.o.store.get(layout.checkpoint(m.prev.sn), { signal });
      if (ck !== undefined) {
        await slot.restorer.load(ck.body);
        this.log({ event: 'state-loaded', job, sn, from: m.prev.sn });
        return;
      }
    }
    try {
      const input = await this.fetchInput(m.prev, m.stream.container, signal);
      const dir = await mkdtemp(path.join(this.workDir ?? tmpdir(), 'warm-'));
      const prepared = await prepareSegment(input, { workDir: dir, signal });
      try {
        for await (const frame of prepared.frames) await slot.restorer.push(frame);
        await slot.restorer.flush();
      } finally {
        await prepared.dispose();
        await rm(dir, { recursive: true, force: true });
      }
      this.log({ event: 'state-warmed', job, sn, on: m.prev.sn });
    } catch (e) {
      if (signal.aborted) throw e;
      // A broken previous segment (e.g. one that went to the DLQ) must not stop the stream.
      await slot.restorer.reset();
      this.log({ event: 'state-warm-failed', job, sn, on: m.prev.sn, message: e instanceof Error ? e.message : String(e) });
    }
  }

  private async fetchInput(s: SegmentSpec, container: ContainerKind, signal: AbortSignal): Promise<SegmentInput> {
    const get = async (key: string, range?: SegmentSpec['byteRange']): Promise<Uint8Array> => {
      const got = await this.o.store.get(key, { signal, ...(range === undefined ? {} : { range }) });
      if (got === undefined) {
        throw new SwiftvrError('bad-input', `source object ${this.o.store.name}/${key} does not exist`, { context: { sn: s.sn, uri: key } });
      }
      return got.body;
    };
    const [bytes, initBytes] = await Promise.all([get(s.key, s.byteRange), s.mapKey === undefined ? undefined : get(s.mapKey)]);
    return { sn: s.sn, uri: s.key, container, bytes, duration: s.duration, ...(initBytes === undefined ? {} : { initBytes }) };
  }

  /** Create-once; an existing object is fine (a duplicate run) unless `mustMatch` and it differs. */
  private async putOnce(key: string, body: Uint8Array, contentType: string, mustMatch: boolean): Promise<void> {
    try {
      await this.o.store.put(key, body, { condition: { ifNoneMatch: '*' }, contentType, cacheControl: 'public, max-age=31536000, immutable' });
    } catch (e) {
      if (!isPreconditionFailed(e)) throw e;
      if (mustMatch) {
        const existing = await this.o.store.get(key);
        if (existing !== undefined && Buffer.compare(Buffer.from(existing.body), Buffer.from(body)) !== 0) {
          throw new SwiftvrError('internal', `${this.o.store.name}/${key} exists with different bytes; the encoder settings changed mid-stream`);
        }
      }
    }
  }

  // ---- publishing ------------------------------------------------------------------------

  /** Publishes what the segment completes; returns the time it was listed (epoch ms). */
  private async publish(m: SegmentMessage, layout: JobLayout, bytes: number, codecs: string | undefined): Promise<number> {
    if (m.stream.mode === 'live') {
      await this.appendToLive(m, layout);
      await this.publishMultivariant(layout, [{ bytes, duration: m.segment.duration }], codecs, true);
    } else {
      // Every VOD segment checks (one list request): whichever lands last, in any shard, or a
      // dead-lettered one redriven later, completes the set and publishes.
      await this.finishVodIfComplete(layout);
    }
    return Date.now();
  }

  private async readRendition(layout: JobLayout): Promise<{ playlist: RenditionPlaylist; etag: string } | undefined> {
    const got = await this.o.store.get(layout.rendition);
    if (got === undefined) return undefined;
    return { playlist: parsePlaylist(bytesToText(got.body), layout.rendition), etag: got.etag };
  }

  /** Conditional append: read, append, write If-Match (or If-None-Match for the first); retry on a lost race. */
  private async appendToLive(m: SegmentMessage, layout: JobLayout): Promise<void> {
    const s = m.segment;
    const entry: RenditionEntry = {
      uri: path.posix.basename(layout.segment(s.sn, m.stream.container)),
      duration: s.duration,
      discontinuity: s.discontinuity,
      sourceSn: s.sn,
      ...(s.programDateTime === undefined ? {} : { programDateTime: s.programDateTime }),
      ...(m.stream.container === 'fmp4' ? { map: path.posix.basename(layout.init(s.discontinuitySequence)) } : {}),
    };
    for (let attempt = 1; ; attempt++) {
      const current = await this.readRendition(layout);
      const next = appendLive(current?.playlist, { entry, last: m.last, discontinuitySequence: s.discontinuitySequence }, {
        targetDuration: m.stream.targetDuration,
        window: this.o.liveWindow,
        version: m.stream.container === 'fmp4' ? 6 : 3,
      });
      if (next === undefined) return; // already listed
      try {
        await this.o.store.put(layout.rendition, renderPlaylist(next), {
          condition: current === undefined ? { ifNoneMatch: '*' } : { ifMatch: current.etag },
          contentType: 'application/vnd.apple.mpegurl',
          cacheControl: 'max-age=1',
        });
        return;
      } catch (e) {
        if (!isPreconditionFailed(e) || attempt >= 10) throw e;
        await sleep(20 * attempt);
      }
    }
  }

  /** VOD: once every segment is stored, the playlist is written once, then the multivariant. */
  private async finishVodIfComplete(layout: JobLayout): Promise<void> {
    const { store } = this.o;
    if (await store.head(layout.multivariant)) return; // published, multivariant included
    const record = await this.readRecord(layout);
    const specs = record.segments ?? [];
    const stored = new Map((await store.list(layout.segment(0, record.container).replace(/seg_\d+\.\w+$/, ''))).map((o) => [o.key, o.size]));
    const missing = specs.filter((s) => !stored.has(layout.segment(s.sn, record.container)));
    if (missing.length > 0) return;
    const playlist: RenditionPlaylist = {
      version: record.container === 'fmp4' ? 6 : 3,
      targetDuration: record.targetDuration,
      mediaSequence: specs[0]?.sn ?? 0,
      discontinuitySequence: specs[0] === undefined ? 0 : specs[0].discontinuitySequence - (specs[0].discontinuity ? 1 : 0),
      playlistType: 'VOD',
      independentSegments: true,
      ended: true,
      entries: specs.map((s) => ({
        uri: path.posix.basename(layout.segment(s.sn, record.container)),
        duration: s.duration,
        discontinuity: s.discontinuity,
        sourceSn: s.sn,
        ...(s.programDateTime === undefined ? {} : { programDateTime: s.programDateTime }),
        ...(record.container === 'fmp4' ? { map: path.posix.basename(layout.init(s.discontinuitySequence)) } : {}),
      })),
    };
    try {
      await store.put(layout.rendition, renderPlaylist(playlist), {
        condition: { ifNoneMatch: '*' },
        contentType: 'application/vnd.apple.mpegurl',
        cacheControl: 'max-age=60',
      });
      this.log({ event: 'vod-published', job: record.job, segments: specs.length });
    } catch (e) {
      if (!isPreconditionFailed(e)) throw e;
    }
    const sizes = specs.map((s) => ({ bytes: stored.get(layout.segment(s.sn, record.container)) ?? 0, duration: s.duration }));
    const first = await store.get(layout.metrics(specs[0]?.sn ?? 0));
    const codecs = first === undefined ? undefined : (JSON.parse(bytesToText(first.body)) as SegmentMetrics).codecs;
    await this.publishMultivariant(layout, sizes, codecs, false);
  }

  /**
   * The multivariant playlist gains the upscaled variant once: create-once, so the first
   * publisher writes it and every later one finds it there. Only for jobs submitted with a
   * multivariant source. Live BANDWIDTH is estimated as twice the first segment's bit rate.
   * Source variants are listed by URIs relative to the multivariant's key (into the source
   * prefix), not copied: the CDK delivery serves viewer path = bucket key for both prefixes
   * (cdk/lib/viewer-function.ts), so players resolve them exactly as S3 keys resolve.
   */
  private async publishMultivariant(layout: JobLayout, sizes: { bytes: number; duration: number }[], codecs: string | undefined, live: boolean): Promise<void> {
    const { store } = this.o;
    if (await store.head(layout.multivariant)) return;
    const record = await this.readRecord(layout);
    if (record.multivariantKey === undefined || codecs === undefined) return;
    const plan = await readStoredPlan(store, record.multivariantKey);
    const chosen = plan.chosen;
    if (plan.multivariant === undefined || chosen === undefined) return;
    const scale = this.slots[0]?.restorer.scale ?? 1;
    const bw = measureBandwidth(sizes, record.targetDuration);
    const outDir = path.posix.dirname(layout.multivariant);
    const sourceDir = path.posix.dirname(record.multivariantKey);
    const text = renderMultivariantPlaylist({
      sourceText: plan.multivariant.text,
      mapUri: (uri) => path.posix.relative(outDir, path.posix.join(sourceDir, uri)),
      basedOn: chosen.uri,
      restored: {
        uri: path.posix.relative(outDir, layout.rendition),
        bandwidth: live ? bw.peak * 2 : bw.peak,
        averageBandwidth: live ? bw.average * 2 : bw.average,
        resolution: chosen.resolution
          ? { width: chosen.resolution.width * scale, height: chosen.resolution.height * scale }
          : { width: 1, height: 1 },
        codecs,
        frameRate: chosen.frameRate ?? 30,
      },
    });
    try {
      await store.put(layout.multivariant, text, { condition: { ifNoneMatch: '*' }, contentType: 'application/vnd.apple.mpegurl', cacheControl: 'max-age=60' });
      this.log({ event: 'multivariant-published', job: record.job, key: layout.multivariant });
    } catch (e) {
      if (!isPreconditionFailed(e)) throw e;
    }
  }

  // ---- records ---------------------------------------------------------------------------

  private streamOf(plan: SourcePlan, job: string, mode: 'vod' | 'live'): StreamSpec {
    return { job, mediaKey: mediaKeyOf(plan, this.o.store), container: plan.media.container, targetDuration: plan.media.targetDuration, mode };
  }

  private async writeRecord(plan: SourcePlan, sourceKey: string, stream: StreamSpec, shards: number, segments: readonly SegmentSpec[] | undefined): Promise<void> {
    const layout = new JobLayout(this.o.outputPrefix, stream.job);
    const record: JobRecord = {
      job: stream.job,
      sourceKey,
      mediaKey: stream.mediaKey,
      ...(plan.multivariant === undefined ? {} : { multivariantKey: sourceKey }),
      container: stream.container,
      targetDuration: stream.targetDuration,
      mode: stream.mode,
      shards,
      ...(segments === undefined ? {} : { segments }),
      createdAt: new Date().toISOString(),
    };
    try {
      await this.o.store.put(layout.record, JSON.stringify(record, null, 2), { condition: { ifNoneMatch: '*' }, contentType: 'application/json' });
    } catch (e) {
      if (!isPreconditionFailed(e)) throw e;
    }
  }

  private async readRecord(layout: JobLayout): Promise<JobRecord> {
    const got = await this.o.store.get(layout.record);
    if (got === undefined) throw new SwiftvrError('internal', `job record ${this.o.store.name}/${layout.record} is missing`, { context: { stream: layout.job } });
    return JSON.parse(bytesToText(got.body)) as JobRecord;
  }

  /** One record per failed attempt, naming the segment; `final` when the next stop is the DLQ. */
  private async recordError(body: unknown, e: unknown, attempt: number): Promise<void> {
    const m = body as Partial<SegmentMessage & { job: string; sourceKey: string }>;
    const job = m.stream?.job ?? m.job ?? (typeof m.sourceKey === 'string' ? safeJobId(m.sourceKey, this.o.sourcePrefix) : undefined);
    const err = isSwiftvrError(e) ? e : withContext(e, {});
    const sn = m.segment?.sn;
    const record = {
      job,
      sn,
      segment: m.segment?.key,
      type: m.type,
      attempt,
      final: this.maxReceives !== undefined && attempt >= this.maxReceives,
      kind: err.kind,
      retryable: err.retryable,
      message: err.message,
      worker: this.workerId,
      at: new Date().toISOString(),
    };
    this.log({ event: 'error', ...record });
    if (job === undefined) return;
    const layout = new JobLayout(this.o.outputPrefix, job);
    try {
      await this.o.store.put(sn === undefined ? layout.jobError(attempt) : layout.error(sn, attempt), JSON.stringify(record, null, 2), { contentType: 'application/json' });
    } catch (writeError) {
      this.log({ event: 'error-record-failed', job, sn, message: writeError instanceof Error ? writeError.message : String(writeError) });
    }
  }
}

const safeJobId = (key: string, prefix: string): string | undefined => {
  try {
    return jobIdOf(key, prefix);
  } catch {
    return undefined;
  }
};

/** Seconds from the moment the segment was live at the source to the moment we listed it. */
function lagOf(s: SegmentSpec, availableAt: Date, publishedAt: number): number {
  const liveAt = s.programDateTime !== undefined ? Date.parse(s.programDateTime) + s.duration * 1000 : availableAt.getTime();
  return Math.max(0, (publishedAt - liveAt) / 1000);
}
