// Frame buffers that are reused rather than collected. A 1080p yuv420p frame is 3.1 MB: allocating
// one per decoded frame costs page faults when it is first written and a garbage collection now
// and then to free it. The decoder takes its buffers from here; the restorer gives back those the
// inference thread has finished with (their bytes are in the model's input by then).
// One pool per process, like Node's own Buffer pool; it keeps at most `keep` buffers of each size.

export class FramePool {
  private readonly free = new Map<number, ArrayBuffer[]>();

  constructor(private readonly keep = 32) {}

  /** A buffer of exactly `bytes` bytes, with arbitrary contents: the caller overwrites all of it. */
  take(bytes: number): Uint8Array {
    const reused = this.free.get(bytes)?.pop();
    return reused === undefined ? new Uint8Array(bytes) : new Uint8Array(reused);
  }

  /** Hands `buffer` back; the caller must hold no view of it any more. Detached buffers are ignored. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === 0) return;
    let list = this.free.get(buffer.byteLength);
    if (list === undefined) this.free.set(buffer.byteLength, (list = []));
    if (list.length < this.keep && !list.includes(buffer)) list.push(buffer);
  }

  /** Buffers held for reuse, of all sizes. */
  get size(): number {
    let n = 0;
    for (const l of this.free.values()) n += l.length;
    return n;
  }
}

/** The process's frame pool. */
export const framePool = new FramePool();
