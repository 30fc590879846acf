// hls-parser in strict mode (its default only logs spec violations), with one tolerance:
// a playlist that uses features newer than its EXT-X-VERSION (decimal EXTINF without a version
// tag is common, and players accept it) is parsed as if it declared the version it needs.
import HLS from 'hls-parser';
import type { Playlist } from 'hls-parser/types.js';

export interface ParsedPlaylist {
  readonly playlist: Playlist;
  /** EXT-X-VERSION as the text declares it (1 when absent). */
  readonly declaredVersion: number;
}

const VERSION_TOO_LOW = /EXT-X-VERSION needs to be (\d+) or higher/;

/**
 * Parses playlist text strictly. Throws hls-parser's error for anything malformed except a too
 * low EXT-X-VERSION, which is raised to what the playlist needs (at most 12 times).
 */
export function parseStrict(text: string): ParsedPlaylist {
  const declared = /^#EXT-X-VERSION:(\d+)\s*$/m.exec(text);
  const declaredVersion = declared ? Number(declared[1]) : 1;
  let body = text;
  for (let tries = 0; ; tries++) {
    try {
      return { playlist: withStrictParser(() => HLS.parse(body)), declaredVersion };
    } catch (e) {
      const need = e instanceof Error ? VERSION_TOO_LOW.exec(e.message) : null;
      if (need === null || tries >= 12) throw e;
      body = withVersion(body, Number(need[1]));
    }
  }
}

function withVersion(text: string, version: number): string {
  if (/^#EXT-X-VERSION:.*$/m.test(text)) return text.replace(/^#EXT-X-VERSION:.*$/m, `#EXT-X-VERSION:${version}`);
  return text.replace(/^#EXTM3U[^\r\n]*/, (first) => `${first}\n#EXT-X-VERSION:${version}`);
}

/** Runs `fn` with hls-parser in strict, silent mode, restoring its global options after. */
export function withStrictParser<T>(fn: () => T): T {
  const saved = HLS.getOptions();
  HLS.setOptions({ ...saved, strictMode: true, silent: true });
  try {
    return fn();
  } finally {
    HLS.setOptions(saved);
  }
}
