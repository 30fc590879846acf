// Colour description of a video stream, carried from the source segment to the restored one.
//
// Frames travel as the codec's own yuv420p planes from decoder through model to encoder, so no
// colour matrix is ever applied; what remains is to tag the output exactly as the source, so a
// player that switches between the source and the restored variant converts both to RGB the same
// way. An untagged source gets the documented default below, written explicitly into the output:
// players guess an untagged stream's matrix from its size (BT.601 below 720 lines, BT.709 from
// 720 up), and the restored variant is twice the size, so left untagged it could be guessed
// differently from its source.

/** ffprobe's colour fields of a video stream ('unknown' or absent when untagged). */
export interface ProbedColour {
  readonly color_space?: string;
  readonly color_primaries?: string;
  readonly color_transfer?: string;
  readonly color_range?: string;
  readonly pix_fmt?: string;
}

/** How a stream's YUV values map to colours, in ffmpeg's names. */
export interface VideoColour {
  /** Matrix coefficients (ffmpeg -colorspace), e.g. bt709, smpte170m, bt470bg, bt2020nc. */
  readonly matrix: string;
  readonly primaries: string;
  readonly transfer: string;
  /** tv: limited range (16-235 luma); pc: full range. */
  readonly range: 'tv' | 'pc';
  /** Which fields the source did not tag and took the default for. */
  readonly defaulted: readonly ('matrix' | 'primaries' | 'transfer' | 'range')[];
}

const tagged = (v: string | undefined): v is string => v !== undefined && v !== '' && v !== 'unknown' && v !== 'unspecified';

/** Primaries and transfer that belong with a matrix, for filling in a partly tagged stream. */
const FAMILY: Record<string, { primaries: string; transfer: string }> = {
  bt709: { primaries: 'bt709', transfer: 'bt709' },
  smpte170m: { primaries: 'smpte170m', transfer: 'smpte170m' },
  bt470bg: { primaries: 'bt470bg', transfer: 'smpte170m' },
  bt2020nc: { primaries: 'bt2020', transfer: 'bt709' },
  bt2020c: { primaries: 'bt2020', transfer: 'bt709' },
};

/**
 * The default for an untagged source: BT.709 from 720 lines (or 1280 columns) up, SMPTE 170M
 * (BT.601) below; limited range unless the pixel format is a full-range (yuvj) one.
 */
export function defaultMatrix(width: number, height: number): string {
  return height >= 720 || width >= 1280 ? 'bt709' : 'smpte170m';
}

/** The source's colour description, with the documented default for whatever it leaves untagged. */
export function videoColour(p: ProbedColour, width: number, height: number): VideoColour {
  const defaulted: VideoColour['defaulted'][number][] = [];
  let matrix = p.color_space;
  if (!tagged(matrix)) {
    matrix = defaultMatrix(width, height);
    defaulted.push('matrix');
  }
  const family = FAMILY[matrix] ?? FAMILY[defaultMatrix(width, height)]!;
  let primaries = p.color_primaries;
  if (!tagged(primaries)) {
    primaries = family.primaries;
    defaulted.push('primaries');
  }
  let transfer = p.color_transfer;
  if (!tagged(transfer)) {
    transfer = family.transfer;
    defaulted.push('transfer');
  }
  let range: 'tv' | 'pc';
  if (p.color_range === 'pc' || p.color_range === 'tv') {
    range = p.color_range;
  } else {
    range = p.pix_fmt?.startsWith('yuvj') === true ? 'pc' : 'tv';
    defaulted.push('range');
  }
  return { matrix, primaries, transfer, range, defaulted };
}

/**
 * The raw pixel format frames travel in: yuv420p, or yuvj420p (the same plane layout) for a source
 * coded in a yuvj format, so that ffmpeg converts neither range nor values on the way between the
 * codec and the model (a yuvj -> yuv conversion would squeeze full range into limited).
 */
export function planeFormat(sourcePixFmt: string): 'yuv420p' | 'yuvj420p' {
  return sourcePixFmt.startsWith('yuvj') ? 'yuvj420p' : 'yuv420p';
}

/** ffprobe names a few transfer characteristics differently from ffmpeg's -color_trc option. */
const TRC_OPTION: Record<string, string> = { bt470m: 'gamma22', bt470bg: 'gamma28' };

/** ffmpeg output options that tag the encoded stream with `colour`. */
export function colourTagArgs(colour: VideoColour): string[] {
  return ['-colorspace', colour.matrix, '-color_primaries', colour.primaries,
    '-color_trc', TRC_OPTION[colour.transfer] ?? colour.transfer, '-color_range', colour.range];
}
