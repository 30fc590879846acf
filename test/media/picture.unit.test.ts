// Picture facts from ffprobe's stream fields: display rotation (the sign ffprobe prints), SAR
// (turned with the picture), field order, bit depth and chroma, refusals, and the filters and report.
import { describe, expect, it } from 'vitest';
import { videoColour } from '../../src/media/colour.js';
import {
  chromaOf,
  hdrOf,
  hdrRefusal,
  masteringDisplayOf,
  pictureOf,
  pictureReport,
  planeBits,
  shapeFilters,
  uprightFilters,
} from '../../src/media/picture.js';

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
    const mirror =
      '\n00000000:       -65536           0           0\n00000001:            0       65536           0\n00000002:            0           0  1073741824\n';
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

  const MASTERING = {
    side_data_type: 'Mastering display metadata',
    red_x: '34000/50000',
    red_y: '16000/50000',
    green_x: '13250/50000',
    green_y: '34500/50000',
    blue_x: '7500/50000',
    blue_y: '3000/50000',
    white_point_x: '15635/50000',
    white_point_y: '16450/50000',
    min_luminance: '1/10000',
    max_luminance: '10000000/10000',
  };
  const LIGHT = { side_data_type: 'Content light level metadata', max_content: 1000, max_average: 400 };
  const pq = videoColour({ color_space: 'bt2020nc', color_primaries: 'bt2020', color_transfer: 'smpte2084' }, 1920, 1080);

  it('reads PQ with its static metadata in x265 notation, HLG, and nothing for SDR', () => {
    expect(hdrOf(pq, [MASTERING, LIGHT])).toEqual({
      transfer: 'PQ',
      masteringDisplay: 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)',
      contentLight: { maxCll: 1000, maxFall: 400 },
      dropped: [],
    });
    const hlg = videoColour({ color_space: 'bt2020nc', color_transfer: 'arib-std-b67' }, 1920, 1080);
    expect(hdrOf(hlg, [])).toEqual({ transfer: 'HLG', dropped: [] });
    expect(hdrOf(videoColour({ color_space: 'bt709' }, 1920, 1080), [MASTERING])).toBeUndefined();
    // an incomplete mastering display is left out, never written half
    expect(masteringDisplayOf({ ...MASTERING, max_luminance: 'n/a' })).toBeUndefined();
    expect(hdrOf(pq, [{ side_data_type: 'DOVI configuration record', dv_profile: 8, dv_bl_signal_compatibility_id: 1 }])?.dropped).toEqual([
      'Dolby Vision RPU',
    ]);
  });

  it('keeps 10 bits for HDR (and says so), reduces SDR to 8, refuses 8-bit HDR and Dolby Vision without a base layer', () => {
    const coded = pictureOf({ pix_fmt: 'yuv420p10le' }, 1920, 1080).picture;
    const hdr = { ...coded, hdr: hdrOf(pq, [MASTERING, LIGHT])! };
    expect([planeBits(hdr), planeBits(coded)]).toEqual([10, 8]);
    expect(hdrRefusal(hdr, [])).toBeUndefined();
    expect(hdrRefusal(coded, [])).toBeUndefined();
    const report = pictureReport(hdr, pq);
    expect(report.applied).toEqual([]);
    expect(report.carried['hdr']).toBe(
      'PQ, 10-bit HEVC Main 10; mastering display G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1); MaxCLL 1000, MaxFALL 400',
    );
    expect(pictureReport(coded, pq).applied).toEqual(['reduced from 10 to 8 bits per sample']);
    const eight = { ...pictureOf({ pix_fmt: 'yuv420p' }, 1920, 1080).picture, hdr: hdrOf(pq, [])! };
    expect(hdrRefusal(eight, [])).toMatch(/^its transfer is PQ with 8-bit samples; HDR is restored on 10-bit planes/);
    expect(hdrRefusal(hdr, [{ side_data_type: 'DOVI configuration record', dv_profile: 5, dv_bl_signal_compatibility_id: 0 }])).toMatch(
      /Dolby Vision profile 5 with no HDR10 or SDR base layer/,
    );
  });
});
