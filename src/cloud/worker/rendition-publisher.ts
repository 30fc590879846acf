// Publishing a job's outputs in the order that keeps players safe: a playlist never lists a
// segment that is not stored yet; the live rendition grows by conditional appends (If-Match);
// the VOD rendition and the multivariant are created once.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { measureBandwidth } from '../../hls/bandwidth.js';
import { renderMultivariantPlaylist } from '../../hls/multivariant-playlist.js';
import {
  parseRendition,
  renderRendition,
  vodRendition,
  type RenditionEntry,
  type RenditionPlaylist,
} from '../../hls/rendition-playlist.js';
import { appendLive } from '../../hls/live-window.js';
import { z } from 'zod';
import type { JobLayout, JobRecord, SegmentMessage, SegmentSpec } from '../jobs.js';
import { bytesToText, isPreconditionFailed, putOnce, type ObjectStore } from '../object-store/object-store.js';
import { readStoredPlan } from '../source.js';
import type { WorkerLog } from './worker-events.js';

const PLAYLIST = 'application/vnd.apple.mpegurl';

/** What the multivariant says about the restored variant, read from a restored segment (never guessed). */
export const restoredFactsSchema = z.object({
  codecs: z.object({ video: z.string().min(1), audio: z.array(z.string().min(1)).readonly() }),
  width: z.number().int().min(2),
  height: z.number().int().min(2),
  frameRate: z.object({ num: z.number().int().min(1), den: z.number().int().min(1) }),
  videoRange: z.enum(['PQ', 'HLG']).optional(),
});
export type RestoredFacts = Readonly<z.infer<typeof restoredFactsSchema>>;

export class RenditionPublisher {
  constructor(
    private readonly store: ObjectStore,
    private readonly liveWindow: number,
    private readonly log: WorkerLog,
  ) {}

  async readRendition(layout: JobLayout): Promise<{ playlist: RenditionPlaylist; etag: string } | undefined> {
    const got = await this.store.get(layout.rendition);
    if (got === undefined) return undefined;
    return { playlist: parseRendition(bytesToText(got.body), layout.rendition), etag: got.etag };
  }

  /**
   * Live: read, append, write If-Match (If-None-Match for the first); retry on a lost race. A
   * segment published as a plain upscale is marked (EXT-X-DATERANGE); without a source
   * PROGRAM-DATE-TIME it is dated from when the source segment was first seen.
   */
  async appendLive(
    m: SegmentMessage,
    layout: JobLayout,
    o: { readonly plainUpscaleSeenAt?: Date; readonly gap?: boolean } = {},
  ): Promise<void> {
    const s = m.segment;
    const plain = o.plainUpscaleSeenAt;
    const entry: RenditionEntry = {
      ...renditionEntry(s, layout, m.stream.container),
      ...(plain === undefined || o.gap === true ? {} : { fallback: true }),
      ...(o.gap === true ? { gap: true } : {}),
    };
    for (let attempt = 1; ; attempt++) {
      const current = await this.readRendition(layout);
      const next = appendLive(
        current?.playlist,
        { entry, last: m.last, discontinuitySequence: s.discontinuitySequence, ...(plain ? { firstSeenAt: plain } : {}) },
        {
          targetDuration: m.stream.targetDuration,
          window: this.liveWindow,
        },
      );
      if (next === undefined) return; // already listed
      try {
        await this.store.put(layout.rendition, renderRendition(next), {
          condition: current === undefined ? { ifNoneMatch: '*' } : { ifMatch: current.etag },
          contentType: PLAYLIST,
          cacheControl: 'max-age=1',
        });
        return;
      } catch (e) {
        if (!isPreconditionFailed(e) || attempt >= 10) throw e;
        await sleep(20 * attempt);
      }
    }
  }

  /**
   * Live: the source stopped for good (no new segment past the idle timeout): the rendition ends
   * with EXT-X-ENDLIST so players stop polling. Returns false when there is no rendition yet.
   */
  async endLive(layout: JobLayout): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.readRendition(layout);
      if (current === undefined) return false;
      if (current.playlist.ended) return true;
      try {
        await this.store.put(layout.rendition, renderRendition({ ...current.playlist, ended: true }), {
          condition: { ifMatch: current.etag },
          contentType: PLAYLIST,
          cacheControl: 'max-age=1',
        });
        return true;
      } catch (e) {
        if (!isPreconditionFailed(e) || attempt >= 10) throw e;
        await sleep(20 * attempt);
      }
    }
  }

  /** VOD: the complete rendition, created once. */
  async writeVod(record: JobRecord, layout: JobLayout): Promise<void> {
    const specs = record.segments ?? [];
    const gaps = new Set((await this.store.list(layout.gapsPrefix)).map((o) => o.key));
    const playlist = vodRendition(
      specs.map((s) => ({ ...renditionEntry(s, layout, record.container), ...(gaps.has(layout.gap(s.sn)) ? { gap: true } : {}) })),
      record.targetDuration,
      specs[0]?.discontinuitySequence ?? 0,
    );
    if (
      (await putOnce(this.store, layout.rendition, renderRendition(playlist), { contentType: PLAYLIST, cacheControl: 'max-age=60' })) ===
      'created'
    ) {
      this.log({ event: 'vod-published', job: record.job, segments: specs.length, ...(gaps.size > 0 ? { gaps: gaps.size } : {}) });
    }
  }

  /**
   * The multivariant playlist gains the upscaled variant once: create-once, so the first
   * publisher writes it and every later one finds it there. Only for jobs submitted with a
   * multivariant source. Live BANDWIDTH is estimated as twice the first segment's bit rate.
   * Source variants are listed by URIs relative to the multivariant's key (into the source
   * prefix), not copied: the CDK delivery serves viewer path = bucket key for both prefixes
   * (cdk/lib/viewer-function.ts), so players resolve them exactly as S3 keys resolve.
   */
  async publishMultivariant(
    record: JobRecord,
    layout: JobLayout,
    sizes: readonly { bytes: number; duration: number }[],
    facts: RestoredFacts,
  ): Promise<void> {
    if (record.multivariantKey === undefined || (await this.store.head(layout.multivariant))) return;
    const plan = await readStoredPlan(this.store, record.multivariantKey);
    const chosen = plan.chosen;
    if (plan.multivariant === undefined || chosen === undefined) return;
    const live = record.mode === 'live';
    const bw = measureBandwidth(sizes, record.targetDuration);
    const outDir = path.posix.dirname(layout.multivariant);
    const sourceDir = path.posix.dirname(record.multivariantKey);
    const text = renderMultivariantPlaylist({
      source: plan.multivariant.playlist,
      mapUri: (uri) => path.posix.relative(outDir, path.posix.join(sourceDir, uri)),
      basedOn: chosen.uri,
      restored: {
        uri: path.posix.relative(outDir, layout.rendition),
        bandwidth: live ? bw.peak * 2 : bw.peak,
        averageBandwidth: live ? bw.average * 2 : bw.average,
        resolution: { width: facts.width, height: facts.height },
        codecs: facts.codecs,
        frameRate: facts.frameRate.num / facts.frameRate.den,
        ...(facts.videoRange !== undefined ? { videoRange: facts.videoRange } : {}),
      },
    });
    if ((await putOnce(this.store, layout.multivariant, text, { contentType: PLAYLIST, cacheControl: 'max-age=60' })) === 'created') {
      this.log({ event: 'multivariant-published', job: record.job, key: layout.multivariant });
    }
  }
}

function renditionEntry(s: SegmentSpec, layout: JobLayout, container: JobRecord['container']): RenditionEntry {
  return {
    uri: path.posix.basename(layout.segment(s.sn, container)),
    duration: s.duration,
    discontinuity: s.discontinuity,
    sourceSn: s.sn,
    ...(s.programDateTime === undefined ? {} : { programDateTime: s.programDateTime }),
    ...(container === 'fmp4' ? { map: path.posix.basename(layout.init(s.discontinuitySequence)) } : {}),
  };
}
