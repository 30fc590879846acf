// The facts an estimate needs about its input, read without restoring anything: an HLS stream's
// length from its playlist (EXTINF), its picture from the first segment's probe; a plain video
// file's from one ffprobe of the file (it is not cut into HLS for this).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { badInput } from '../errors.js';
import { runTool, stderrSummary } from '../media/ffmpeg.js';
import { pictureOf, type ProbedPicture } from '../media/picture.js';
import { probeSegment } from '../media/probe.js';
import type { SourcePlan } from '../types.js';
import type { InputFacts } from './estimate.js';

/** The facts of a planned HLS source: live when it has no EXT-X-ENDLIST and is not a VOD playlist. */
export async function factsOfPlan(plan: SourcePlan, input: string, signal?: AbortSignal): Promise<InputFacts> {
  const { media } = plan;
  const first = media.segments[0];
  if (first === undefined) throw badInput(`${input} lists no segments; there is nothing to estimate`, { uri: input });
  const dir = await mkdtemp(join(tmpdir(), 'swiftvr-estimate-'));
  try {
    const opts = { ...(signal === undefined ? {} : { signal }) };
    const bytes = await plan.source.load(first.location, { ...opts, ...(first.byteRange ? { byteRange: first.byteRange } : {}) });
    const init =
      first.map === undefined
        ? undefined
        : await plan.source.load(first.map.location, { ...opts, ...(first.map.byteRange ? { byteRange: first.map.byteRange } : {}) });
    const file = join(dir, media.container === 'ts' ? 'first.ts' : 'first.mp4');
    await writeFile(file, init === undefined ? bytes : Buffer.concat([init, bytes]));
    const info = await probeSegment(file, media.container, { name: `segment ${first.sn} (${first.uri})`, ...opts });
    const { num, den } = info.video.frameRate;
    const live = !media.endList && media.playlistType !== 'VOD';
    return {
      input,
      width: info.video.width,
      height: info.video.height,
      frameRate: den > 0 && num > 0 ? num / den : info.video.frameCount / Math.max(first.duration, 1e-3),
      durationSeconds: live ? null : media.segments.reduce((t, s) => t + s.duration, 0),
      segments: live ? null : media.segments.length,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface FileProbe {
  streams?: (ProbedPicture & {
    codec_type?: string;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    disposition?: { attached_pic?: number };
  })[];
  format?: { duration?: string };
}

const rate = (s: string | undefined): number | undefined => {
  const m = /^(\d+)\/(\d+)$/.exec(s ?? '');
  return m === null || Number(m[2]) === 0 || Number(m[1]) === 0 ? undefined : Number(m[1]) / Number(m[2]);
};

/** The facts of a plain video file (mp4, mkv, mov, ts) from its container: length, picture, frame rate. */
export async function factsOfVideoFile(path: string, input: string, signal?: AbortSignal): Promise<InputFacts> {
  const exit = await runTool('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', path], {
    ...(signal === undefined ? {} : { signal }),
  });
  if (exit.code !== 0) throw badInput(`${input} is not a video file ffprobe can read (${stderrSummary(exit, 200)})`, { uri: input });
  let probed: FileProbe;
  try {
    probed = JSON.parse(exit.stdout.toString('utf8')) as FileProbe;
  } catch {
    throw badInput(`${input}: ffprobe printed no JSON`, { uri: input });
  }
  const video = probed.streams?.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (video?.width === undefined || video.height === undefined) throw badInput(`${input} has no video stream`, { uri: input });
  const duration = Number(probed.format?.duration);
  if (!(Number.isFinite(duration) && duration > 0))
    throw badInput(`${input} has no duration in its container; it must be a finished video file`, { uri: input });
  const fps = rate(video.avg_frame_rate) ?? rate(video.r_frame_rate);
  if (fps === undefined) throw badInput(`${input} states no frame rate for its video`, { uri: input });
  const picture = pictureOf(video, video.width, video.height);
  return { input, width: picture.width, height: picture.height, frameRate: fps, durationSeconds: duration, segments: null };
}
