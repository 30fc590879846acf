// Picture facts from ffprobe's stream fields: display rotation (the sign ffprobe prints), SAR
// (turned with the picture), field order, bit depth and chroma, refusals, and the filters and report.
import { describe, expect, it } from 'vitest';
import { videoColour } from '../../src/media/colour.js';
import { chromaOf, hdrRefusal, pictureOf, pictureReport, shapeFilters, uprightFilters } from '../../src/media/picture.js';

const matrix = (rotation: number, displaymatrix?: string) => ({
  side_data_list: [{ side_data_type: 'Display Matrix', rotation, ...(displaymatrix === undefined ? {} : { displaymatrix }) }],
});

describe('pictureOf', () => {
  it('turns a quarter-rotated picture: ffprobe rotation 90 (counter-clockwise) is a 270 clockwise turn, sides swapped', () => {
    const p = pictureOf({ ...matrix(90), sample_aspect_ratio: '4:3' }, 320, 180);
    expect([p.width, p.height, p.picture.rotation]).toEqual([180, 320, 270]);
    expect(p.picture.sar).toEqual({ num: 3, den: 4 });
    expect(uprightFilters(p.picture)).toEqual(['transpose=cclock']);
    expect(uprightFilters(pictureOf(matrix(-90), 320, 180).picture)).toEqual(['transpose=clock']);
    expect(uprightFilters(pictureOf(matrix(180), 320, 180).picture)).toEqual(['hflip,vflip']);
  });

  it('takes the file rotation for a segment whose container has no matrix, and its own matrix first', () => {
    expect(pictureOf({}, 320, 180, 90).picture.rotation).toBe(90);
    expect(pictureOf(matrix(0), 320, 180, 90).picture.rotation).toBe(0);
  });

  it('refuses a turn that is not a quarter turn and a mirroring matrix', () => {
    expect(pictureOf(matrix(45), 320, 180).refusal).toMatch(/315 degrees; only quarter turns/);
    const mirror = '\n00000000:       -65536           0           0\n00000001:            0       65536           0\n00000002:            0           0  1073741824\n';
    expect(pictureOf(matrix(0, mirror), 320, 180).refusal).toMatch(/mirrors the picture/);
  });

  it('reads SAR (0:1 is square), field order, bit depth and chroma', () => {
    const p = pictureOf({ sample_aspect_ratio: '80:66', field_order: 'bb', pix_fmt: 'yuv422p10le' }, 352, 240).picture;
    expect(p.sar).toEqual({ num: 40, den: 33 });
    expect([p.fieldOrder, p.bitDepth, p.chroma]).toEqual(['bb', 10, '4:2:2']);
    expect(pictureOf({ sample_aspect_ratio: '0:1' }, 64, 64).picture.sar).toEqual({ num: 1, den: 1 });
    expect(chromaOf('yuvj444p')).toBe('4:4:4');
    expect(shapeFilters(p)).toEqual(['setsar=40/33']);
    expect(uprightFilters(p)).toEqual(['bwdif=mode=send_frame:parity=auto:deint=all']);
  });

  it('reports what is carried, applied and dropped', () => {
    const p = pictureOf({ sample_aspect_ratio: '12:11', field_order: 'tt', pix_fmt: 'yuv420p' }, 176, 144).picture;
    const colour = videoColour({ color_space: 'smpte170m', color_primaries: 'reserved', color_range: 'tv' }, 176, 144);
    expect(pictureReport(p, colour)).toEqual({
      carried: { matrix: 'smpte170m', transfer: 'smpte170m', range: 'tv', sar: '12:11' },
      applied: ['deinterlaced (field order tt, bwdif at the frame rate)'],
      dropped: ['primaries reserved'],
    });
  });

  it('refuses PQ and HLG, not SDR', () => {
    expect(hdrRefusal(videoColour({ color_space: 'bt2020nc', color_transfer: 'smpte2084' }, 1920, 1080))).toMatch(/PQ/);
    expect(hdrRefusal(videoColour({ color_space: 'bt2020nc', color_transfer: 'arib-std-b67' }, 1920, 1080))).toMatch(/HLG/);
    expect(hdrRefusal(videoColour({ color_space: 'bt709' }, 1920, 1080))).toBeUndefined();
  });
});
