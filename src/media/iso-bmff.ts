// The one ISO BMFF (MP4) box reader. ISO/IEC 14496-12 §4.2:
//   aligned(8) class Box (unsigned int(32) boxtype) {
//     unsigned int(32) size; unsigned int(32) type = boxtype;
//     if (size == 1) { unsigned int(64) largesize; }
//     else if (size == 0) { // box extends to end of file }
//   }
// Children start after the header, and for a few boxes after fixed fields of their own (a full
// box's version and flags, a sample entry's fields): CHILDREN_AT says where.

export interface Box {
  readonly type: string;
  /** Offset of the size field. */
  readonly start: number;
  /** Offset just past the box. */
  readonly end: number;
  /** Offset of the payload (after size, type and any largesize). */
  readonly body: number;
}

/** Where the children of a container box start, counted from its payload. */
const CHILDREN_AT: Readonly<Record<string, number>> = {
  moov: 0,
  trak: 0,
  mdia: 0,
  minf: 0,
  stbl: 0,
  edts: 0,
  mvex: 0,
  moof: 0,
  traf: 0,
  dinf: 0,
  udta: 0,
  stsd: 8, // full box + entry_count
  mp4a: 28, // SampleEntry (8) + AudioSampleEntry fields (20)
  avc1: 78,
  avc3: 78,
  hvc1: 78,
  hev1: 78, // SampleEntry (8) + VisualSampleEntry fields (70)
};

const typeAt = (bytes: Uint8Array, at: number): string => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);

/**
 * The boxes laid end to end in bytes[from, to). `strict`: a size that runs past `to` or trailing
 * bytes throw a RangeError naming the offset; otherwise reading stops quietly there.
 */
export function boxesIn(bytes: Uint8Array, from = 0, to = bytes.length, strict = false): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  let pos = from;
  while (pos + 8 <= to) {
    let size = view.getUint32(pos);
    const type = typeAt(bytes, pos + 4);
    let body = pos + 8;
    if (size === 1) {
      if (pos + 16 > to) break;
      size = Number(view.getBigUint64(pos + 8));
      body = pos + 16;
    } else if (size === 0) {
      size = to - pos;
    }
    if (size < body - pos || pos + size > to) {
      if (strict) throw new RangeError(`box ${type} at byte ${pos} has size ${size}, past the end (${to} bytes)`);
      return out;
    }
    out.push({ type, start: pos, end: pos + size, body });
    pos += size;
  }
  if (strict && pos !== to) throw new RangeError(`${to - pos} trailing bytes after the last box at byte ${pos}`);
  return out;
}

/** Top-level boxes of a file; throws on anything that does not parse. */
export const topLevelBoxes = (bytes: Uint8Array): Box[] => boxesIn(bytes, 0, bytes.length, true);

/** The children of a container box (none when `parent` is not a known container). */
export function childBoxes(bytes: Uint8Array, parent: Box): Box[] {
  const at = CHILDREN_AT[parent.type];
  return at === undefined ? [] : boxesIn(bytes, parent.body + at, parent.end);
}

/**
 * Every box at `path` below the top level (or below `root`), e.g.
 * `findBoxes(init, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'mp4a', 'esds'])`.
 */
export function findBoxes(bytes: Uint8Array, path: readonly string[], root?: Box): Box[] {
  let level = root === undefined ? boxesIn(bytes) : childBoxes(bytes, root);
  for (const [i, type] of path.entries()) {
    const matches = level.filter((b) => b.type === type);
    if (i === path.length - 1) return matches;
    level = matches.flatMap((b) => childBoxes(bytes, b));
  }
  return [];
}

/** The first box at `path`, if any. */
export const findBox = (bytes: Uint8Array, path: readonly string[], root?: Box): Box | undefined => findBoxes(bytes, path, root)[0];

/** A box with the given type around `body` (the parts concatenated), 32-bit size. */
export function makeBox(type: string, body: readonly Uint8Array[]): Uint8Array {
  const size = 8 + body.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  out.set(
    [...type].map((c) => c.charCodeAt(0)),
    4,
  );
  let pos = 8;
  for (const b of body) {
    out.set(b, pos);
    pos += b.length;
  }
  return out;
}
