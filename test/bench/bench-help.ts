// `--help` of a bench script prints its header comment (the leading `//` lines of the file); and the
// inputs more than one bench makes.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** With `--help`: print the header comment and exit 0. */
export async function exitWithHelpIf(help: boolean, scriptUrl: string): Promise<void> {
  if (!help) return;
  await printHeaderHelp(scriptUrl);
  process.exit(0);
}

async function printHeaderHelp(scriptUrl: string): Promise<void> {
  const own = await readFile(new URL(scriptUrl), 'utf8');
  const header = own.split('\n').filter((_, i, all) => all.slice(0, i + 1).every((x) => x.startsWith('//')));
  console.log(header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
}

/** A bench's usage error: one line naming the bench, exit 2. */
export function benchFailer(bench: string): (message: string) => never {
  return (message) => {
    console.error(`${bench}: ${message}`);
    process.exit(2);
  };
}

/** The benchmark clip a bench plays must exist; the message says how to fetch it. */
export function requireVideo(video: string, fail: (message: string) => never): void {
  if (!existsSync(video))
    fail(`video ${video} does not exist; fetch it with \`.venv/bin/python -m models.swiftvr.benchmark prepare\` or pass --video <file>`);
}

/**
 * Writes `seconds` of 1920x1080 H.264 test picture (25 fps, 2 s segments) as an HLS stream in `dir`
 * (an existing folder): the 1080p -> 4K input of the host and pipes benches. Returns its playlist.
 */
export function writeHdTestStream(dir: string, seconds: string): string {
  const playlist = join(dir, 'index.m3u8');
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=25:d=${seconds}`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p'],
    ...['-f', 'hls', '-hls_time', '2', '-hls_playlist_type', 'vod', '-hls_segment_filename', join(dir, 's%d.ts'), playlist],
  ]);
  return playlist;
}
