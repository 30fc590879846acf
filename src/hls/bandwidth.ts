// BANDWIDTH and AVERAGE-BANDWIDTH of a rendition, measured from its segments (RFC 8216 §4.3.4.2).
import { SwiftvrError } from '../errors.js';

/**
 * BANDWIDTH and AVERAGE-BANDWIDTH (bits/s, rounded up) from produced segment sizes.
 * Peak: the largest bit rate of any contiguous run of segments lasting between 0.5 and 1.5
 * times the target duration (the "peak segment bit rate" of RFC 8216 §4.3.4.2 as draft-pantos
 * -hls-rfc8216bis defines it); average: total bits over total duration.
 */
export function measureBandwidth(
  segments: readonly { readonly bytes: number; readonly duration: number }[],
  targetDuration: number,
): { readonly peak: number; readonly average: number } {
  if (segments.length === 0) throw new SwiftvrError('internal', 'measureBandwidth needs at least one segment');
  for (const s of segments) {
    if (!(s.duration > 0) || !(s.bytes >= 0)) {
      throw new SwiftvrError('internal', `segment of ${s.bytes} bytes and ${s.duration} s cannot give a bit rate`);
    }
  }
  const lo = 0.5 * targetDuration;
  const hi = 1.5 * targetDuration;
  let peak = 0;
  for (let i = 0; i < segments.length; i++) {
    let bits = 0;
    let seconds = 0;
    for (let j = i; j < segments.length; j++) {
      const s = segments[j] as { bytes: number; duration: number };
      bits += s.bytes * 8;
      seconds += s.duration;
      if (seconds > hi + 1e-9) break;
      if (seconds >= lo - 1e-9) peak = Math.max(peak, bits / seconds);
    }
  }
  const totalBits = segments.reduce((a, s) => a + s.bytes * 8, 0);
  const totalSeconds = segments.reduce((a, s) => a + s.duration, 0);
  const average = totalBits / totalSeconds;
  // Every run too short or too long (e.g. one short segment): the per-segment peak stands in.
  if (peak === 0) peak = Math.max(...segments.map((s) => (s.bytes * 8) / s.duration));
  return { peak: Math.ceil(peak), average: Math.ceil(average) };
}
