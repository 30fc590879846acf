// ffprobe facts the end-to-end tests compare between source and output segments.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SegmentFacts {
  readonly videoFrames: number;
  readonly startPts: number;
  readonly firstFrameKey: boolean;
  readonly firstFramePictType: string;
  readonly width: number;
  readonly height: number;
  /** MD5 of each audio packet's payload, in order. */
  readonly audioPacketHashes: readonly string[];
  readonly audioPts: readonly string[];
  readonly duration: number;
}

async function ffprobeJson(args: string[]): Promise<any> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-of', 'json', ...args], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

/** Facts of one segment file (for fMP4 pass the init section followed by the segment). */
export async function segmentFacts(file: string): Promise<SegmentFacts> {
  const frames = await ffprobeJson([
    '-select_streams',
    'v:0',
    '-show_frames',
    '-show_entries',
    'frame=pts_time,key_frame,pict_type,width,height',
    file,
  ]);
  const audio = await ffprobeJson([
    '-select_streams',
    'a:0',
    '-show_packets',
    '-show_data_hash',
    'MD5',
    '-show_entries',
    'packet=pts,data_hash',
    file,
  ]);
  const fmt = await ffprobeJson(['-show_entries', 'format=duration', file]);
  const f = frames.frames as { pts_time: string; key_frame: number; pict_type: string; width: number; height: number }[];
  const first = f[0]!;
  return {
    videoFrames: f.length,
    startPts: Number(first.pts_time),
    firstFrameKey: first.key_frame === 1,
    firstFramePictType: first.pict_type,
    width: first.width,
    height: first.height,
    audioPacketHashes: (audio.packets as { data_hash: string }[]).map((p) => p.data_hash),
    audioPts: (audio.packets as { pts: number }[]).map((p) => String(p.pts)),
    duration: Number(fmt.format.duration),
  };
}
