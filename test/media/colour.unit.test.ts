// The colour description carried from source to output: tags as probed, the documented default
// for untagged fields, and the ffmpeg options that write them.
import { describe, expect, it } from 'vitest';
import { colourTagArgs, defaultMatrix, droppedColourWarning, planeFormat, videoColour } from '../../src/media/colour.js';

describe('videoColour', () => {
  it('keeps every tag a source carries', () => {
    const c = videoColour(
      { color_space: 'bt470bg', color_primaries: 'bt470bg', color_transfer: 'bt470bg', color_range: 'pc', pix_fmt: 'yuv420p' },
      320,
      240,
    );
    expect(c).toEqual({ matrix: 'bt470bg', primaries: 'bt470bg', transfer: 'bt470bg', range: 'pc', defaulted: [], dropped: [] });
  });

  it('gives an untagged stream BT.601 (SMPTE 170M) below 720 lines and BT.709 from 720 up, limited range', () => {
    expect(videoColour({ pix_fmt: 'yuv420p' }, 640, 360)).toEqual({
      matrix: 'smpte170m',
      primaries: 'smpte170m',
      transfer: 'smpte170m',
      range: 'tv',
      defaulted: ['matrix', 'primaries', 'transfer', 'range'],
      dropped: [],
    });
    expect(videoColour({ color_space: 'unknown', color_range: 'unknown' }, 1280, 720).matrix).toBe('bt709');
    expect(defaultMatrix(1280, 544)).toBe('bt709');
    expect(defaultMatrix(720, 576)).toBe('smpte170m');
  });

  it('fills a partly tagged stream from its matrix family; yuvj pixel formats are full range', () => {
    const c = videoColour({ color_space: 'bt709', pix_fmt: 'yuvj420p' }, 320, 240);
    expect(c).toEqual({
      matrix: 'bt709',
      primaries: 'bt709',
      transfer: 'bt709',
      range: 'pc',
      defaulted: ['primaries', 'transfer', 'range'],
      dropped: [],
    });
  });
});

describe('tags the output encoder cannot write', () => {
  it('drops reserved primaries and transfer, keeps the rest, and says so in one line', () => {
    const c = videoColour(
      { color_space: 'bt709', color_primaries: 'reserved', color_transfer: 'reserved', color_range: 'tv', pix_fmt: 'yuv420p' },
      480,
      270,
    );
    expect(c.dropped).toEqual([
      { field: 'primaries', value: 'reserved' },
      { field: 'transfer', value: 'reserved' },
    ]);
    expect(colourTagArgs(c)).toEqual(['-colorspace', 'bt709', '-color_range', 'tv']);
    const warning = droppedColourWarning(c);
    expect(warning).toContain('primaries "reserved", transfer "reserved"');
    expect(warning).not.toContain('\n');
  });

  it('drops a reserved matrix and nothing is said when every tag can be written', () => {
    const c = videoColour({ color_space: 'reserved', color_range: 'pc' }, 640, 360);
    expect(c.dropped).toEqual([{ field: 'matrix', value: 'reserved' }]);
    expect(colourTagArgs(c)).not.toContain('-colorspace');
    expect(droppedColourWarning(videoColour({ color_space: 'bt709' }, 640, 360))).toBeUndefined();
  });
});

describe('planes and tags for ffmpeg', () => {
  it('keeps yuvj sources in a yuvj format so no range conversion happens', () => {
    expect(planeFormat('yuvj420p')).toBe('yuvj420p');
    expect(planeFormat('yuv420p')).toBe('yuv420p');
    expect(planeFormat('yuv420p10le')).toBe('yuv420p');
  });

  it('writes ffmpeg option names, which differ from ffprobe names for two transfers', () => {
    const c = videoColour({ color_space: 'bt470bg', color_primaries: 'bt470bg', color_transfer: 'bt470bg' }, 320, 240);
    expect(colourTagArgs(c)).toEqual([
      '-colorspace',
      'bt470bg',
      '-color_primaries',
      'bt470bg',
      '-color_trc',
      'gamma28',
      '-color_range',
      'tv',
    ]);
  });
});
