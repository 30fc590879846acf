// A live HLS source on the clock, as a live encoder publishes one: each segment is stored, then
// listed in the media playlist once its duration has passed (the first at once), in a sliding
// window, with PROGRAM-DATE-TIME if asked, and EXT-X-ENDLIST after the last.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ObjectStore } from '../../src/cloud/object-store/object-store.js';

export interface LiveSegment {
  readonly bytes: Uint8Array;
  readonly duration: number;
  readonly discontinuity?: boolean;
}

export interface LiveSourceOptions {
  /** Key of the media playlist; segments go beside it as seg_<sn>.ts. */
  readonly playlistKey: string;
  /** Segments kept listed (default: all). */
  readonly window?: number;
  /** Stamp PROGRAM-DATE-TIME: true from the wall clock, a Date for segment 0's start. */
  readonly programDateTime?: true | Date;
  /** Clock speed: 1 = real time; 0 lists everything at once. */
  readonly pace?: number;
  readonly signal?: AbortSignal;
  /**
   * PROGRAM-DATE-TIME as a packager on a wall clock writes it: each stamp up to this many ms short of
   * the sum of the durations before it (deterministic, from the sn). @default 0
   */
  readonly pdtJitterMs?: number;
  /** These segments are stored as garbage bytes (a corrupt upload). */
  readonly corrupt?: readonly number[];
  /** These segments are listed but never stored (deleted from the source before anyone read them). */
  readonly missing?: readonly number[];
  /**
   * Once this segment is listed, the source stops listing for so many ms (a packager or network
   * stall: capture goes on, so the date-times keep their cadence and the backlog follows).
   */
  readonly pauseAfter?: { readonly sn: number; readonly ms: number };
  /** Segment files that leave the window are deleted, as packagers do. @default false */
  readonly deleteOld?: boolean;
}

export interface LiveSource {
  /** When each segment was listed (epoch ms), by sn. */
  readonly listedAt: Map<number, number>;
  /** Resolves once the last segment is listed with EXT-X-ENDLIST. */
  readonly done: Promise<void>;
}

export function playLive(store: ObjectStore, segments: readonly LiveSegment[], o: LiveSourceOptions): LiveSource {
  const listedAt = new Map<number, number>();
  const dir = o.playlistKey.slice(0, o.playlistKey.lastIndexOf('/') + 1);
  const pace = o.pace ?? 1;
  const target = Math.max(1, ...segments.map((s) => Math.round(s.duration)));
  const done = (async () => {
    const t0 = Date.now();
    let paused = 0;
    // Segment i is complete, and listed, when the ones after the first have played: dueOf(i) ms in.
    const dueOf = (i: number): number => paused + segments.slice(1, i + 1).reduce((a, x) => a + x.duration * 1000 * pace, 0);
    // PROGRAM-DATE-TIME: segment 0 started one duration before it was listed, or at the given date.
    const pdt0 = o.programDateTime instanceof Date ? o.programDateTime.getTime() : t0 - segments[0]!.duration * 1000 * pace;
    for (let sn = 0; sn < segments.length; sn++) {
      const due = dueOf(sn);
      if (pace > 0) await sleep(Math.max(0, t0 + due - Date.now()), undefined, o.signal ? { signal: o.signal } : {});
      const garbage = new Uint8Array(segments[sn]!.bytes.length).map((_, i) => (i * 131 + sn * 7) & 0xff);
      if (o.missing?.includes(sn) !== true)
        await store.put(`${dir}seg_${sn}.ts`, o.corrupt?.includes(sn) === true ? garbage : segments[sn]!.bytes);
      const last = sn === segments.length - 1;
      if (pace === 0 && !last) continue;
      const first = o.window === undefined ? 0 : Math.max(0, sn + 1 - o.window);
      const lines = ['#EXTM3U', '#EXT-X-VERSION:3', `#EXT-X-TARGETDURATION:${target}`, `#EXT-X-MEDIA-SEQUENCE:${first}`];
      const discontinuities = segments.slice(0, first).filter((s) => s.discontinuity === true).length;
      if (discontinuities > 0) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${discontinuities}`);
      for (let i = first; i <= sn; i++) {
        const s = segments[i]!;
        if (s.discontinuity === true) lines.push('#EXT-X-DISCONTINUITY');
        if (o.programDateTime !== undefined) {
          // A live encoder stamps a segment with the time its first frame was captured.
          const jitter = o.pdtJitterMs === undefined ? 0 : (((i * 7919) % 17) / 16) * o.pdtJitterMs;
          const startedAt = pdt0 + segments.slice(0, i).reduce((a, x) => a + x.duration * 1000, 0) - jitter;
          lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(startedAt).toISOString()}`);
        }
        lines.push(`#EXTINF:${s.duration.toFixed(3)},`, `seg_${i}.ts`);
      }
      if (last) lines.push('#EXT-X-ENDLIST');
      await store.put(o.playlistKey, `${lines.join('\n')}\n`, { contentType: 'application/vnd.apple.mpegurl' });
      const now = Date.now();
      for (let i = pace === 0 ? 0 : sn; i <= sn; i++) listedAt.set(i, now);
      if (o.deleteOld === true && first > 0) await store.delete(`${dir}seg_${first - 1}.ts`).catch(() => {});
      if (o.pauseAfter?.sn === sn) paused += o.pauseAfter.ms;
    }
  })();
  return { listedAt, done };
}
