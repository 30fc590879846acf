// The names of a restored rendition's files, the same locally and in the cloud: segments by their
// source media sequence number, zero-padded so they sort in order; one init section per
// discontinuity sequence (the picture size may change there).
import type { ContainerKind } from '../types.js';

export const outputSegmentName = (sn: number, container: ContainerKind): string =>
  `seg_${String(sn).padStart(6, '0')}.${container === 'ts' ? 'ts' : 'm4s'}`;

export const outputInitName = (discontinuitySequence: number): string =>
  discontinuitySequence === 0 ? 'init.mp4' : `init_${discontinuitySequence}.mp4`;
