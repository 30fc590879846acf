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
  /**
   * Tags the source carries that the output encoder cannot write (values its standard calls
   * reserved, or that ffmpeg has no name for): the output leaves these fields unspecified.
   */
  readonly dropped: readonly DroppedColourTag[];
}

export interface DroppedColourTag {
  readonly field: 'matrix' | 'primaries' | 'transfer';
  /** The value as ffprobe named it, e.g. `reserved`. */
  readonly value: string;
}

/**
 * The values ffmpeg's -colorspace, -color_primaries and -color_trc options accept, in ffprobe's
 * names (the ones ffprobe prints differently are mapped in TRC_OPTION). Anything else (`reserved`,
 * a number ffmpeg has no name for) cannot be written and is left unspecified in the output.
 */
const WRITABLE = {
  matrix: new Set([
    'rgb',
    'bt709',
    'fcc',
    'bt470bg',
    'smpte170m',
    'smpte240m',
    'ycgco',
    'bt2020nc',
    'bt2020c',
    'smpte2085',
    'chroma-derived-nc',
    'chroma-derived-c',
    'ictcp',
  ]),
  primaries: new Set([
    'bt709',
    'bt470m',
    'bt470bg',
    'smpte170m',
    'smpte240m',
    'film',
    'bt2020',
    'smpte428',
    'smpte431',
    'smpte432',
    'jedec-p22',
    'ebu3213',
  ]),
  transfer: new Set([
    'bt709',
    'gamma22',
    'gamma28',
    'bt470m',
    'bt470bg',
    'smpte170m',
    'smpte240m',
    'linear',
    'log100',
    'log316',
    'iec61966-2-4',
    'bt1361e',
    'iec61966-2-1',
    'bt2020-10',
    'bt2020-12',
    'smpte2084',
    'smpte428',
    'arib-std-b67',
  ]),
} as const;

/** Whether the output encoder can write `value` for `field`. */
export function writableTag(field: 'matrix' | 'primaries' | 'transfer', value: string): boolean {
  return WRITABLE[field].has(value);
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
  const dropped: DroppedColourTag[] = [];
  for (const [field, value] of [
    ['matrix', matrix],
    ['primaries', primaries],
    ['transfer', transfer],
  ] as const) {
    if (!writableTag(field, value)) dropped.push({ field, value });
  }
  return { matrix, primaries, transfer, range, defaulted, dropped };
}

/** One line for a user: which tags the output leaves unspecified, or undefined when none. */
export function droppedColourWarning(colour: VideoColour): string | undefined {
  if (colour.dropped.length === 0) return undefined;
  const list = colour.dropped.map((d) => `${d.field} "${d.value}"`).join(', ');
  return (
    `the source's colour tag${colour.dropped.length > 1 ? 's' : ''} ${list} cannot be written by the output encoder ` +
    '(reserved or unnamed values); the restored rendition leaves them unspecified'
  );
}

/**
 * The raw pixel format frames travel in: yuv420p, or yuvj420p (the same plane layout) for a source
 * coded in a yuvj format, so that ffmpeg converts neither range nor values on the way between the
 * codec and the model (a yuvj -> yuv conversion would squeeze full range into limited); at 10 bits
 * (HDR sources) yuv420p10le, whose range is as tagged.
 */
export function planeFormat(sourcePixFmt: string, bits: 8 | 10 = 8): 'yuv420p' | 'yuvj420p' | 'yuv420p10le' {
  if (bits === 10) return 'yuv420p10le';
  return sourcePixFmt.startsWith('yuvj') ? 'yuvj420p' : 'yuv420p';
}

/** ffprobe names a few transfer characteristics differently from ffmpeg's -color_trc option. */
const TRC_OPTION: Record<string, string> = { bt470m: 'gamma22', bt470bg: 'gamma28' };

/** ffmpeg output options that tag the encoded stream with `colour`; dropped fields stay unspecified. */
export function colourTagArgs(colour: VideoColour): string[] {
  const dropped = new Set(colour.dropped.map((d) => d.field));
  return [
    ...(dropped.has('matrix') ? [] : ['-colorspace', colour.matrix]),
    ...(dropped.has('primaries') ? [] : ['-color_primaries', colour.primaries]),
    ...(dropped.has('transfer') ? [] : ['-color_trc', TRC_OPTION[colour.transfer] ?? colour.transfer]),
    '-color_range',
    colour.range,
  ];
}
