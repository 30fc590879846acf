// The input stage: an HLS playlist is used as it is; a plain video file is first cut into HLS
// (keyframe-aligned segments, audio kept) in the job's work folder.
import { open, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { badInput } from '../errors.js';
import { segmentVideoFile } from '../media/segmenter.js';

export interface PreparedInput {
  /** The playlist to read (path or URL). */
  readonly playlist: string;
  /** `video`: a local video file cut into HLS at `playlist`; `hls`: the user's playlist. */
  readonly kind: 'hls' | 'video';
  /** The user's input as given. */
  readonly original: string;
  /**
   * `video`: the clockwise turn of the file's display matrix (0 when none). Its HLS cut cannot
   * carry the matrix (MPEG-TS has none), so the restore turns the picture by this.
   */
  readonly rotation?: number;
}

const PLAYLIST_EXTENSIONS = new Set(['.m3u8', '.m3u']);

async function head(path: string, n: number): Promise<Uint8Array> {
  const h = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await h.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

/** Whether a local file is an HLS playlist: its name says so or its text starts with #EXTM3U. */
async function isPlaylistFile(path: string): Promise<boolean> {
  if (PLAYLIST_EXTENSIONS.has(extname(path).toLowerCase())) return true;
  const text = new TextDecoder().decode(await head(path, 16)).replace(/^\uFEFF/, '');
  return text.startsWith('#EXTM3U');
}

/**
 * The input as a playlist to read. With `cut: false` a plain video file is not cut: `playlist` is
 * then the file itself (for readers of the file's own facts, such as the estimate).
 */
export async function prepareInput(
  input: string,
  hlsDir: string,
  signal: AbortSignal,
  opts: { readonly cut?: boolean } = {},
): Promise<PreparedInput> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return { playlist: input, kind: 'hls', original: input };
  const path = resolve(input);
  let st;
  try {
    st = await stat(path);
  } catch {
    throw badInput(`input ${input} does not exist; give an HLS playlist, a video file or an http(s) URL`, { uri: input });
  }
  if (!st.isFile()) throw badInput(`input ${input} is not a file; give an HLS playlist (.m3u8) or a video file`, { uri: input });
  if (await isPlaylistFile(path)) return { playlist: path, kind: 'hls', original: input };
  if (opts.cut === false) return { playlist: path, kind: 'video', original: input };
  signal.throwIfAborted();
  let rotation = 0;
  const playlist = await segmentVideoFile(path, hlsDir, {
    signal,
    onPlan: (p) => {
      rotation = p.rotation;
    },
  });
  return { playlist, kind: 'video', original: input, rotation };
}
