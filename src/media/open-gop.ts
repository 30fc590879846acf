// Open GOPs: a segment that starts at an HEVC CRA picture (x265's default) or an H.264 recovery
// point, whose leading pictures reference pictures of the previous segment. Decoded alone, such
// a segment yields fewer frames than it has packets (the decoder drops what it cannot
// reconstruct). Decoded after the previous segment, every frame comes out; the previous
// segment's own frames are then skipped.
import { badInput, type ErrorContext } from '../errors.js';
import type { ContainerKind } from '../types.js';
import { abortedError, runTool, stderrSummary } from './ffmpeg.js';
import { rawTimestamps } from './probe.js';

/** Leading pictures follow their random-access picture within this many packets in decode order. */
const LEAD_PACKETS = 16;

interface Opts {
  readonly signal?: AbortSignal;
  readonly name: string;
  readonly context?: ErrorContext;
}

/**
 * Whether the segment's first pictures need the previous segment: decodes its first packets
 * (decode order is self-contained for a closed GOP, so all of them yield frames) and compares.
 */
export async function needsPreviousSegment(file: string, container: ContainerKind, packets: number, o: Opts): Promise<boolean> {
  const n = Math.min(LEAD_PACKETS, packets);
  const r = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      ...rawTimestamps(container),
      '-select_streams',
      'v:0',
      '-read_intervals',
      `%+#${n}`,
      '-show_entries',
      'frame=pict_type',
      '-of',
      'csv=p=0',
      file,
    ],
    o.signal === undefined ? {} : { signal: o.signal },
  );
  if (r.aborted) throw abortedError(`probing ${o.name}`, o.context);
  if (r.code !== 0) throw badInput(`${o.name} could not be probed for open-GOP pictures: ffprobe ${stderrSummary(r)}`, o.context);
  const frames = r.stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
  return frames < n;
}

/** Frames the file's first video stream decodes to (decoding it all). */
export async function countDecodedFrames(file: string, container: ContainerKind, o: Opts): Promise<number> {
  const r = await runTool(
    'ffmpeg',
    [
      '-nostdin',
      '-hide_banner',
      '-v',
      'error',
      ...rawTimestamps(container),
      '-i',
      file,
      '-map',
      '0:v:0',
      '-fps_mode',
      'passthrough',
      '-f',
      'null',
      '-',
      '-progress',
      'pipe:1',
      '-nostats',
    ],
    o.signal === undefined ? {} : { signal: o.signal },
  );
  if (r.aborted) throw abortedError(`decoding ${o.name}`, o.context);
  if (r.code !== 0) throw badInput(`${o.name} could not be decoded: ffmpeg ${stderrSummary(r)}`, o.context);
  const all = [...r.stdout.toString('utf8').matchAll(/^frame=(\d+)$/gm)];
  return Number(all.at(-1)?.[1] ?? 0);
}
