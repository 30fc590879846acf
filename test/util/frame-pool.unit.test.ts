// The frame pool hands back buffers it was given, of the size asked for, and keeps a bounded number.
import { describe, expect, it } from 'vitest';

import { FramePool } from '../../src/util/frame-pool.js';

describe('FramePool', () => {
  it('reuses a buffer given back, for the same size only', () => {
    const pool = new FramePool();
    const a = pool.take(1000);
    expect(a.length).toBe(1000);
    pool.give(a.buffer as ArrayBuffer);
    expect(pool.take(999).buffer).not.toBe(a.buffer);
    expect(pool.take(1000).buffer).toBe(a.buffer);
    expect(pool.take(1000).buffer).not.toBe(a.buffer);
  });

  it('keeps at most `keep` buffers of a size and never one twice', () => {
    const pool = new FramePool(2);
    const bufs = [1, 2, 3].map(() => new ArrayBuffer(64));
    for (const b of bufs) pool.give(b);
    pool.give(bufs[0]!);
    expect(pool.size).toBe(2);
    const taken = new Set([pool.take(64).buffer, pool.take(64).buffer]);
    expect(taken).toEqual(new Set([bufs[0], bufs[1]]));
  });

  it('ignores a buffer that was transferred away (detached)', () => {
    const pool = new FramePool();
    const b = new ArrayBuffer(64);
    structuredClone(b, { transfer: [b] });
    pool.give(b);
    expect(pool.size).toBe(0);
  });
});
