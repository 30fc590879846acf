// hls-parser in strict mode (its default only logs spec violations), with two tolerances:
// - a playlist that uses features newer than its EXT-X-VERSION (decimal EXTINF without a version
//   tag is common, and players accept it) is parsed as if it declared the version it needs;
// - `#EXT-X-TARGETDURATION:0`, which hls-parser reads as a missing tag ("The EXT-X-TARGETDURATION
//   tag is REQUIRED"), is read as 0. RFC 8216 §4.3.3.1 allows it: the target duration bounds each
//   EXTINF rounded to the nearest integer, so 0 is right when every segment is shorter than 0.5 s
//   (ffmpeg writes it for such segments).
import HLS from 'hls-parser';
import type { MediaPlaylist, Playlist } from 'hls-parser/types.js';

export interface ParsedPlaylist {
  readonly playlist: Playlist;
  /** EXT-X-VERSION as the text declares it (1 when absent). */
  readonly declaredVersion: number;
}

const VERSION_TOO_LOW = /EXT-X-VERSION needs to be (\d+) or higher/;

/**
 * Parses playlist text strictly. Throws hls-parser's error for anything malformed except a too
 * low EXT-X-VERSION, which is raised to what the playlist needs (at most 12 times), and a 0
 * EXT-X-TARGETDURATION, which is read as 0 (a media playlist's `targetDuration` is then 0).
 */
export function parseStrict(text: string): ParsedPlaylist {
  const declared = /^#EXT-X-VERSION:(\d+)\s*$/m.exec(text);
  const declaredVersion = declared ? Number(declared[1]) : 1;
  const zeroTarget = hasZeroTargetDuration(text);
  let body = zeroTarget ? text.replace(ZERO_TARGET, `#EXT-X-TARGETDURATION:${ZERO_STAND_IN}`) : text;
  for (let tries = 0; ; tries++) {
    try {
      const playlist = withStrictParser(() => HLS.parse(body));
      if (zeroTarget && !playlist.isMasterPlaylist) (playlist as MediaPlaylist).targetDuration = 0;
      return { playlist, declaredVersion };
    } catch (e) {
      const need = e instanceof Error ? VERSION_TOO_LOW.exec(e.message) : null;
      if (need === null || tries >= 12) throw e;
      body = withVersion(body, Number(need[1]));
    }
  }
}

/** The one EXT-X-TARGETDURATION line, when its decimal-integer value is 0. */
const ZERO_TARGET = /^#EXT-X-TARGETDURATION:0+(?=[ \t]*\r?$)/m;
const ANY_TARGET = /^#EXT-X-TARGETDURATION:/gm;
/**
 * What hls-parser parses in place of a 0 target duration: positive, so the tag counts as present,
 * and below 0.5, so its own checks keep their meaning for 0 (an EXTINF that rounds to 1 or more
 * is still refused: "EXTINF duration, when rounded to the nearest integer, MUST be less than or
 * equal to the target duration"; HOLD-BACK and CAN-SKIP-UNTIL bounds are multiples of ~0).
 */
const ZERO_STAND_IN = '0.000001';

/** Exactly one EXT-X-TARGETDURATION tag, with value 0 (duplicates stay hls-parser's to judge). */
function hasZeroTargetDuration(text: string): boolean {
  return ZERO_TARGET.test(text) && (text.match(ANY_TARGET) ?? []).length === 1;
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
