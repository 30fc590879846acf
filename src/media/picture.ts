// What a source's picture means beyond its samples, and how each property crosses the restore:
//
// - sample aspect ratio (anamorphic SD, DV): the x2 picture keeps the source's SAR (written in the
//   H.264 VUI), so it is shown at the source's shape;
// - display rotation (the display matrix every phone writes): the picture is turned upright before
//   the model and the output carries no rotation. MPEG-TS has no display matrix, so turning the
//   picture is the one way that keeps the orientation in every container; players that ignore
//   matrices show it right too;
// - interlacing (broadcast 25i/30i): fields are woven back into progressive frames with bwdif before
//   the model, at the frame rate (one output frame per coded frame: segment timing, frame count and
//   PTS stay the source's); the output is progressive;
// - colour tags: see colour.ts (what the encoder cannot write is left unspecified and reported).
//
// Sources whose meaning the product cannot keep are refused before any work (see pictureOf).
import type { VideoColour } from './colour.js';

/** Bits per sample of a frame's planes: 8 (yuv420p, a byte a sample) or 10 (yuv420p10le, two bytes little-endian). */
export type SampleBits = 8 | 10;

/** A positive fraction (the same shape as types.ts's Rational; declared here so types.ts can import this module). */
export interface Rational {
  readonly num: number;
  readonly den: number;
}

/** Clockwise turn that makes the coded picture upright, in degrees. */
export type Rotation = 0 | 90 | 180 | 270;

export type FieldOrder = 'progressive' | 'tt' | 'bb' | 'tb' | 'bt' | 'unknown';

export interface PictureInfo {
  /** Size as coded (before turning). */
  readonly codedWidth: number;
  readonly codedHeight: number;
  /** Clockwise turn applied before the model (from the display matrix). */
  readonly rotation: Rotation;
  /** Sample aspect ratio of the picture as the model sees it (after turning). 1:1 for square pixels. */
  readonly sar: Rational;
  /** Field order as coded; interlaced orders are deinterlaced before the model. */
  readonly fieldOrder: FieldOrder;
  /** Bits per sample of the coded picture (from its pixel format). */
  readonly bitDepth: number;
  /** Chroma sampling of the coded picture, e.g. `4:2:0`, `4:2:2` (frames travel as 4:2:0). */
  readonly chroma: string;
  /** PQ or HLG sources: the transfer and static metadata kept (planes travel at 10 bits). */
  readonly hdr?: HdrInfo;
}

/** The stream fields of ffprobe's JSON this module reads. */
export interface ProbedPicture {
  readonly width?: number;
  readonly height?: number;
  readonly pix_fmt?: string;
  readonly sample_aspect_ratio?: string;
  readonly field_order?: string;
  readonly side_data_list?: readonly (ProbedSideData & { readonly rotation?: number; readonly displaymatrix?: string })[];
}

const INTERLACED = new Set<FieldOrder>(['tt', 'bb', 'tb', 'bt']);

export const isInterlaced = (p: PictureInfo): boolean => INTERLACED.has(p.fieldOrder);

/** Bits per sample of an ffmpeg pixel format name: `yuv420p10le` -> 10, `yuv420p` -> 8. */
export function bitDepthOf(pixFmt: string | undefined): number {
  const m = /p(\d+)(le|be)$/.exec(pixFmt ?? '');
  return m === null ? 8 : Number(m[1]);
}

/** Chroma sampling of an ffmpeg pixel format name: `yuv422p10le` -> `4:2:2`; `4:2:0` when unknown. */
export function chromaOf(pixFmt: string | undefined): string {
  const m = /^yuvj?(4\d\d)p/.exec(pixFmt ?? '');
  return m === null ? '4:2:0' : `${m[1]![0]}:${m[1]![1]}:${m[1]![2]}`;
}

/**
 * The clockwise turn for a display matrix. ffprobe's `rotation` is the counter-clockwise angle the
 * matrix applies (av_display_rotation_get): 90 displays the coded picture turned a quarter to the
 * left. Angles that are not a multiple of 90 degrees are returned as they are, for the refusal.
 */
export function rotationOf(probed: ProbedPicture): number {
  const m = probed.side_data_list?.find((s) => s.side_data_type === 'Display Matrix');
  if (m?.rotation === undefined) return 0;
  return ((-Math.round(m.rotation) % 360) + 360) % 360;
}

/** Whether a display matrix also mirrors the picture (a negative determinant). */
function mirrored(probed: ProbedPicture): boolean {
  const m = probed.side_data_list?.find((s) => s.side_data_type === 'Display Matrix');
  if (m?.displaymatrix === undefined) return false;
  // ffprobe prints the 3x3 matrix as rows "00000000:  a  b  u" etc.
  const nums = m.displaymatrix
    .split('\n')
    .map((row) => row.split(':')[1]?.trim().split(/\s+/).map(Number) ?? [])
    .filter((r) => r.length === 3);
  if (nums.length < 2) return false;
  const [a, b] = nums[0]!;
  const [c, d] = nums[1]!;
  return a! * d! - b! * c! < 0;
}

function parseSar(text: string | undefined): Rational {
  const m = /^(\d+):(\d+)$/.exec(text ?? '');
  if (m === null) return { num: 1, den: 1 };
  const num = Number(m[1]);
  const den = Number(m[2]);
  // 0:1 is ffmpeg's "unknown": square pixels.
  return num > 0 && den > 0 ? { num, den } : { num: 1, den: 1 };
}

function reduced(r: Rational): Rational {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(r.num, r.den);
  return { num: r.num / g, den: r.den / g };
}

function fieldOrderOf(text: string | undefined): FieldOrder {
  switch (text) {
    case 'progressive':
    case 'tt':
    case 'bb':
    case 'tb':
    case 'bt':
      return text;
    default:
      return 'unknown';
  }
}

export interface PictureProbe {
  readonly picture: PictureInfo;
  /** The size the model sees (after turning). */
  readonly width: number;
  readonly height: number;
  /** Why the product cannot keep this picture's meaning, or undefined. */
  readonly refusal?: string;
}

/**
 * The picture facts of an ffprobe stream whose coded size is `width` x `height`. `fileRotation` is
 * the clockwise turn of the file the segment was cut from, for segments whose container could not
 * carry the display matrix (MPEG-TS); the segment's own matrix wins.
 */
export function pictureOf(probed: ProbedPicture, width: number, height: number, fileRotation = 0): PictureProbe {
  const own = probed.side_data_list?.some((s) => s.side_data_type === 'Display Matrix') === true;
  const angle = own ? rotationOf(probed) : fileRotation;
  const quarter = angle === 90 || angle === 270;
  const sar = reduced(parseSar(probed.sample_aspect_ratio));
  const picture: PictureInfo = {
    codedWidth: width,
    codedHeight: height,
    rotation: (angle % 90 === 0 ? angle : 0) as Rotation,
    sar: quarter ? { num: sar.den, den: sar.num } : sar,
    fieldOrder: fieldOrderOf(probed.field_order),
    bitDepth: bitDepthOf(probed.pix_fmt),
    chroma: chromaOf(probed.pix_fmt),
  };
  let refusal: string | undefined;
  if (angle % 90 !== 0) {
    refusal = `its display matrix turns the picture by ${angle} degrees; only quarter turns (0, 90, 180, 270) can be made upright`;
  } else if (mirrored(probed)) {
    refusal = 'its display matrix mirrors the picture; mirrored pictures are not supported';
  }
  return {
    picture,
    width: quarter ? height : width,
    height: quarter ? width : height,
    ...(refusal === undefined ? {} : { refusal }),
  };
}

/** High dynamic range transfers by ffprobe name, as HLS's VIDEO-RANGE names them. */
const HDR_TRANSFERS: Readonly<Record<string, HdrTransfer>> = { smpte2084: 'PQ', 'arib-std-b67': 'HLG' };

export type HdrTransfer = 'PQ' | 'HLG';

/** Static HDR metadata of a PQ or HLG source, carried into the output's HEVC SEI. */
export interface HdrInfo {
  readonly transfer: HdrTransfer;
  /**
   * Mastering display colour volume (SMPTE ST 2086) in x265's notation:
   * `G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)`, chromaticities in 0.00002 and luminance in 0.0001 cd/m2.
   */
  readonly masteringDisplay?: string;
  /** Content light level: MaxCLL and MaxFALL in cd/m2. */
  readonly contentLight?: { readonly maxCll: number; readonly maxFall: number };
  /** Metadata the output cannot carry (dynamic metadata such as Dolby Vision's RPU). */
  readonly dropped: readonly string[];
}

/** One side-data entry as ffprobe prints it (stream or frame). */
export interface ProbedSideData {
  readonly side_data_type?: string;
  readonly [field: string]: unknown;
}

/** `34000/50000` -> 0.68; NaN when not a fraction or number. */
function fraction(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return Number.NaN;
  const m = /^(-?\d+)\/(\d+)$/.exec(v.trim());
  if (m === null) return Number(v);
  return Number(m[2]) === 0 ? Number.NaN : Number(m[1]) / Number(m[2]);
}

/** x265's master-display string from ffprobe's mastering display side data, or undefined when incomplete. */
export function masteringDisplayOf(d: ProbedSideData): string | undefined {
  const xy = (c: string): string | undefined => {
    const x = Math.round(fraction(d[`${c}_x`]) * 50000);
    const y = Math.round(fraction(d[`${c}_y`]) * 50000);
    return Number.isFinite(x) && Number.isFinite(y) && x >= 0 && y >= 0 && x <= 50000 && y <= 50000 ? `(${x},${y})` : undefined;
  };
  const g = xy('green');
  const b = xy('blue');
  const r = xy('red');
  const wp = xy('white_point');
  const max = Math.round(fraction(d.max_luminance) * 10000);
  const min = Math.round(fraction(d.min_luminance) * 10000);
  if (g === undefined || b === undefined || r === undefined || wp === undefined) return undefined;
  if (!Number.isFinite(max) || !Number.isFinite(min) || max <= 0 || min < 0 || min >= max) return undefined;
  return `G${g}B${b}R${r}WP${wp}L(${max},${min})`;
}

/**
 * The HDR facts of a stream with a PQ or HLG transfer (undefined for SDR), from its side data
 * (the stream's, as MP4 boxes carry it, then its first frame's, as HEVC SEI carries it).
 */
export function hdrOf(colour: VideoColour, sideData: readonly ProbedSideData[]): HdrInfo | undefined {
  const transfer = HDR_TRANSFERS[colour.transfer];
  if (transfer === undefined) return undefined;
  const md = sideData.find((d) => d.side_data_type === 'Mastering display metadata');
  const cll = sideData.find((d) => d.side_data_type === 'Content light level metadata');
  const masteringDisplay = md === undefined ? undefined : masteringDisplayOf(md);
  const maxCll = Number(cll?.max_content);
  const maxFall = Number(cll?.max_average);
  const dropped: string[] = [];
  if (sideData.some((d) => d.side_data_type === 'DOVI configuration record')) dropped.push('Dolby Vision RPU');
  if (sideData.some((d) => /2094-40|HDR10\+/i.test(d.side_data_type ?? ''))) dropped.push('HDR10+ dynamic metadata');
  return {
    transfer,
    ...(masteringDisplay === undefined ? {} : { masteringDisplay }),
    ...(cll !== undefined && Number.isInteger(maxCll) && Number.isInteger(maxFall) && maxCll >= 0 && maxFall >= 0
      ? { contentLight: { maxCll, maxFall } }
      : {}),
    dropped,
  };
}

/**
 * Why an HDR source is refused, or undefined: one whose base layer means nothing without dynamic
 * metadata the output cannot carry (Dolby Vision profile 5: IPT colours), or whose samples are
 * 8-bit PQ or HLG (they band already; the 10-bit path needs 10-bit input).
 */
export function hdrRefusal(picture: PictureInfo, sideData: readonly ProbedSideData[]): string | undefined {
  if (picture.hdr === undefined) return undefined;
  const dovi = sideData.find((d) => d.side_data_type === 'DOVI configuration record');
  if (dovi !== undefined && Number(dovi.dv_bl_signal_compatibility_id) === 0) {
    return (
      `it is Dolby Vision profile ${String(dovi.dv_profile)} with no HDR10 or SDR base layer (compatibility id 0); ` +
      'its picture needs the RPU, which a re-encode cannot keep: not supported'
    );
  }
  if (picture.bitDepth < 10) {
    return `its transfer is ${picture.hdr.transfer} with ${picture.bitDepth}-bit samples; HDR is restored on 10-bit planes and needs a source of at least 10 bits`;
  }
  return undefined;
}

/** x265 parameters that write a source's HDR10 static metadata as SEI (none for HLG or without metadata). */
export function x265HdrParams(hdr: HdrInfo | undefined): string[] {
  if (hdr === undefined) return [];
  return [
    ...(hdr.masteringDisplay !== undefined || hdr.contentLight !== undefined ? ['hdr10=1'] : []),
    ...(hdr.masteringDisplay !== undefined ? [`master-display=${hdr.masteringDisplay}`] : []),
    ...(hdr.contentLight !== undefined ? [`max-cll=${hdr.contentLight.maxCll},${hdr.contentLight.maxFall}`] : []),
  ];
}

/** Bits per sample the planes travel in: 10 for an HDR source (PQ or HLG; kept), 8 otherwise. */
export function planeBits(p: PictureInfo): SampleBits {
  return p.hdr !== undefined && p.bitDepth > 8 ? 10 : 8;
}

/** Filters that give the model the picture as it is meant to be seen: progressive, upright. */
export function uprightFilters(p: PictureInfo): string[] {
  const filters: string[] = [];
  // Fields are rows of the coded picture: weave them before any turn.
  if (isInterlaced(p)) filters.push('bwdif=mode=send_frame:parity=auto:deint=all');
  if (p.rotation === 90) filters.push('transpose=clock');
  else if (p.rotation === 180) filters.push('hflip,vflip');
  else if (p.rotation === 270) filters.push('transpose=cclock');
  return filters;
}

/** Encoder filters that keep the picture's shape: its SAR, unless square. */
export function shapeFilters(p: PictureInfo): string[] {
  return p.sar.num === p.sar.den ? [] : [`setsar=${p.sar.num}/${p.sar.den}`];
}

/** What a restore does with each property, for --json and the job record. */
export interface PictureReport {
  /** Properties the output keeps as the source has them. */
  readonly carried: Readonly<Record<string, string>>;
  /** What was changed to keep the meaning (turned upright, deinterlaced). */
  readonly applied: readonly string[];
  /** What the output cannot carry, with the source's value. */
  readonly dropped: readonly string[];
}

/** The report of what a restore does with a segment's picture properties. */
export function pictureReport(p: PictureInfo, colour: VideoColour): PictureReport {
  const dropped = new Set(colour.dropped.map((d) => d.field));
  const carried: Record<string, string> = {};
  if (!dropped.has('matrix')) carried['matrix'] = colour.matrix;
  if (!dropped.has('primaries')) carried['primaries'] = colour.primaries;
  if (!dropped.has('transfer')) carried['transfer'] = colour.transfer;
  carried['range'] = colour.range;
  carried['sar'] = `${p.sar.num}:${p.sar.den}`;
  const applied: string[] = [];
  if (isInterlaced(p)) applied.push(`deinterlaced (field order ${p.fieldOrder}, bwdif at the frame rate)`);
  if (p.rotation !== 0) applied.push(`turned ${p.rotation} degrees clockwise (display matrix applied)`);
  const bits = planeBits(p);
  if (p.bitDepth > bits) applied.push(`reduced from ${p.bitDepth} to ${bits} bits per sample`);
  if (p.hdr !== undefined) {
    carried['hdr'] = [
      `${p.hdr.transfer}, ${bits}-bit HEVC Main 10`,
      ...(p.hdr.masteringDisplay === undefined ? [] : [`mastering display ${p.hdr.masteringDisplay}`]),
      ...(p.hdr.contentLight === undefined ? [] : [`MaxCLL ${p.hdr.contentLight.maxCll}, MaxFALL ${p.hdr.contentLight.maxFall}`]),
    ].join('; ');
  }
  if (p.chroma !== '4:2:0') applied.push(`chroma subsampled from ${p.chroma} to 4:2:0`);
  return {
    carried,
    applied,
    dropped: [...colour.dropped.map((d) => `${d.field} ${d.value}`), ...(p.hdr?.dropped ?? [])],
  };
}
