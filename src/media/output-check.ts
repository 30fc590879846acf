// The checks of an encoded segment before it is published: frame count, start and last PTS on the
// source's timeline, a keyframe first, its codecs; then the move into place (fMP4: init section and
// media segment cut apart, the source's audio bit rates, edit lists and sample durations patched in).
import { readFile, rm } from 'node:fs/promises';
import { SwiftvrError } from '../errors.js';
import type { Codecs } from '../types.js';
import { commitFile, writeFileAtomic } from '../util/atomic-write.js';
import { audioCodecString, videoCodecFromInit, videoCodecFromTs } from './codec-strings.js';
import { alignAudioBitrates, alignAudioDurations, copyEditLists } from './container-patch.js';
import type { SegmentEncoderOptions, VideoEncoderName } from './encoder-args.js';
import { abortedError, runTool, stderrSummary } from './ffmpeg.js';
import { topLevelBoxes } from './iso-bmff.js';
import { frameTicks, parseRational, startTicks } from './probe.js';

export interface EncodedSegment {
  readonly path: string;
  /** fMP4: the init section path. */
  readonly initPath?: string;
  /** fMP4: false when an identical init section was already at `initPath` and was left as is. */
  readonly initWritten?: boolean;
  /** Size of the media segment in bytes (without the init section). */
  readonly bytes: number;
  readonly frames: number;
  readonly durationSeconds: number;
  /** Start PTS of the video in seconds (equals the source's). */
  readonly startTime: number;
  /** RFC 6381 codecs of the encoded segment: its video and the audio it carries. */
  readonly codecs: Codecs;
  readonly encoder: VideoEncoderName;
}

interface OutputFacts {
  frames: number;
  firstPts: number;
  lastPts: number;
  firstIsKey: boolean;
  timeBase: { num: number; den: number };
  audioCodecs: string[];
}

async function probeOutput(file: string, signal: AbortSignal | undefined): Promise<OutputFacts> {
  const r = await runTool(
    'ffprobe',
    [
      '-v',
      'error',
      '-of',
      'json',
      '-show_entries',
      'stream=index,codec_type,codec_name,profile,time_base:packet=stream_index,pts,dts,flags',
      file,
    ],
    { signal },
  );
  if (r.aborted) throw abortedError(`checking ${file}`);
  if (r.code !== 0) throw new SwiftvrError('internal', `ffprobe of the encoded segment ${file} failed: ${stderrSummary(r)}`);
  const parsed = JSON.parse(r.stdout.toString('utf8')) as {
    streams?: { index: number; codec_type?: string; codec_name?: string; profile?: string; time_base?: string }[];
    packets?: { stream_index: number; pts?: number; dts?: number; flags?: string }[];
  };
  const streams = parsed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video');
  const timeBase = parseRational(video?.time_base);
  if (video === undefined || timeBase === undefined) throw new SwiftvrError('internal', `encoded segment ${file} has no video stream`);
  const vp = (parsed.packets ?? []).filter((p) => p.stream_index === video.index);
  const pts = vp.map((p) => p.pts ?? p.dts ?? Number.NaN);
  const audioCodecs = streams
    .filter((s) => s.codec_type === 'audio')
    .map((s) => audioCodecString(s.codec_name ?? '', s.profile))
    .filter((c): c is string => c !== undefined);
  return {
    frames: vp.length,
    firstPts: Math.min(...pts),
    lastPts: Math.max(...pts),
    firstIsKey: vp[0]?.flags?.includes('K') === true,
    timeBase,
    audioCodecs: [...new Set(audioCodecs)],
  };
}

async function sameBytes(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return Buffer.from(bytes).equals(await readFile(file));
  } catch {
    return false;
  }
}

/**
 * Verifies the promises made to players (frames, start PTS, IDR first) of the encoder's output at
 * `tmpPath`, then moves it into place (fMP4: cut into init section and media segment, patched).
 */
export async function checkAndPlace(
  tmpPath: string,
  encoder: VideoEncoderName,
  o: SegmentEncoderOptions,
  name: string,
): Promise<EncodedSegment> {
  const { info, signal } = o;
  const facts = await probeOutput(tmpPath, signal);
  const srcTb = info.video.timeBase;
  const firstInSource = (facts.firstPts * facts.timeBase.num * srcTb.den) / (facts.timeBase.den * srcTb.num);
  const problems: string[] = [];
  if (facts.frames !== info.video.frameCount) problems.push(`${facts.frames} frames instead of ${info.video.frameCount}`);
  if (Math.abs(firstInSource - startTicks(info.video)) > 1) {
    problems.push(`start PTS ${firstInSource} instead of ${startTicks(info.video)} (time base ${srcTb.num}/${srcTb.den})`);
  }
  if (!facts.firstIsKey) problems.push('no keyframe at its first frame');
  const lastSource = info.video.framePts?.[info.video.framePts.length - 1];
  const lastInSource = (facts.lastPts * facts.timeBase.num * srcTb.den) / (facts.timeBase.den * srcTb.num);
  if (lastSource !== undefined && Math.abs(lastInSource - lastSource) > 1) {
    problems.push(`last frame PTS ${lastInSource} instead of ${lastSource}`);
  }
  if (problems.length > 0) {
    throw new SwiftvrError('internal', `encoded ${name} breaks its source's timing: ${problems.join(', ')}`, {
      context: o.context,
    });
  }
  const durationSeconds =
    ((facts.lastPts - facts.firstPts + frameTicks(info.video.frameRate, facts.timeBase)) * facts.timeBase.num) / facts.timeBase.den;
  const startTime = (facts.firstPts * facts.timeBase.num) / facts.timeBase.den;

  if (o.container === 'ts') {
    const ts = await readFile(tmpPath);
    const video = videoCodecFromTs(ts);
    if (video === undefined) throw new SwiftvrError('internal', `encoded ${name} has no H.264 or HEVC SPS in its first frame`);
    const bytes = ts.length;
    await commitFile(tmpPath, o.outPath);
    return {
      path: o.outPath,
      bytes,
      frames: facts.frames,
      durationSeconds,
      startTime,
      codecs: { video, audio: facts.audioCodecs },
      encoder,
    };
  }

  // fMP4: one file from ffmpeg, cut into the init section (boxes before the first moof) and the media segment.
  const whole = await readFile(tmpPath);
  const boxes = topLevelBoxes(whole);
  const firstMoof = boxes.find((b) => b.type === 'moof');
  if (firstMoof === undefined) throw new SwiftvrError('internal', `encoded ${name} has no moof box`);
  const source = await readFile(o.sourcePath);
  const init = copyEditLists(alignAudioBitrates(whole.subarray(0, firstMoof.start), source), source);
  const media = alignAudioDurations(whole.subarray(firstMoof.start), init, source);
  const video = videoCodecFromInit(init);
  if (video === undefined) throw new SwiftvrError('internal', `encoded ${name} has no avcC or hvcC box in its init section`);
  const initPath = o.initOutPath!;
  let initWritten = false;
  if (!(await sameBytes(initPath, init))) {
    await writeFileAtomic(initPath, init);
    initWritten = true;
  }
  await writeFileAtomic(o.outPath, media);
  await rm(tmpPath, { force: true });
  return {
    path: o.outPath,
    initPath,
    initWritten,
    bytes: media.length,
    frames: facts.frames,
    durationSeconds,
    startTime,
    codecs: { video, audio: facts.audioCodecs },
    encoder,
  };
}
