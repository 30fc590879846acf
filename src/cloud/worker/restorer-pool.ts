// The worker's restorers, one per concurrency slot, and which (job, sn) each one's carried state
// belongs to. Before a segment runs, its slot's state is brought to "after segment sn - 1".
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { SwiftvrError } from '../../errors.js';
import type { Restorer } from '../../inference/restorer.js';
import { frameLimitFor, type FrameLimit } from '../../media/frame-limit.js';
import { warmOn } from '../../pipeline/segment-step.js';
import type { JobLayout, SegmentMessage } from '../jobs.js';
import type { ObjectStore } from '../object-store/object-store.js';
import { storeSource } from '../source.js';
import type { WorkerLog } from './worker-events.js';

export interface Slot {
  readonly restorer: Restorer;
  at: { job: string; sn: number } | undefined;
  busy: boolean;
}

export class RestorerPool {
  private constructor(
    private readonly slots: Slot[],
    private readonly store: ObjectStore,
    private readonly workDir: string,
    private readonly log: WorkerLog,
  ) {}

  static async open(
    count: number,
    open: () => Promise<Restorer>,
    store: ObjectStore,
    workDir: string,
    log: WorkerLog,
  ): Promise<RestorerPool> {
    const slots: Slot[] = [];
    try {
      for (let i = 0; i < count; i++) slots.push({ restorer: await open(), at: undefined, busy: false });
    } catch (e) {
      await Promise.all(slots.map((s) => s.restorer.close()));
      throw e;
    }
    return new RestorerPool(slots, store, workDir, log);
  }

  get size(): number {
    return this.slots.length;
  }

  /** The model's name (its sidecar's), for reports. */
  get modelName(): string {
    return this.slots[0]?.restorer.contract.name ?? 'unknown';
  }

  /** Output size / input size of the model. */
  get scale(): number {
    return this.slots[0]?.restorer.scale ?? 1;
  }

  /** The largest input frame the restorers take (by their execution provider). */
  get frameLimit(): FrameLimit {
    return frameLimitFor(this.slots[0]?.restorer.provider ?? 'cpu');
  }

  /** A free slot, preferring the one whose state ends at sn - 1 of this job. */
  take(job: string, sn: number): Slot {
    const free = this.slots.filter((s) => !s.busy);
    const slot = free.find((s) => s.at?.job === job && s.at.sn === sn - 1) ?? free.find((s) => s.at === undefined) ?? free[0];
    if (slot === undefined)
      throw new SwiftvrError('internal', `no free restorer slot of ${this.slots.length} (concurrency and slots disagree)`);
    slot.busy = true;
    return slot;
  }

  /** Whether the slot's state ends at segment sn - 1 of this job (no warm-up needed). */
  holdsStateBefore(slot: Slot, job: string, sn: number): boolean {
    return slot.at?.job === job && slot.at.sn === sn - 1;
  }

  release(slot: Slot): void {
    slot.busy = false;
  }

  /** After a failure the slot's state is unknown (half a segment ran). */
  async forget(slot: Slot): Promise<void> {
    slot.at = undefined;
    await slot.restorer.reset().catch(() => {});
  }

  /**
   * Brings the slot's state to "after segment sn - 1": in memory already, else the checkpoint,
   * else warm on segment sn - 1 (output discarded; its last `warmTail` frames where given), else
   * start from zeros. The first segment of a shard always warms, so a shard's output never
   * depends on which shard finished first.
   */
  async prepare(
    slot: Slot,
    m: SegmentMessage,
    layout: JobLayout,
    signal: AbortSignal,
    warmTail?: number,
  ): Promise<'held' | 'loaded' | 'warmed' | 'zeros'> {
    const { job } = m.stream;
    const sn = m.segment.sn;
    const shardStart = m.shard !== undefined && m.shard.index > 0 && sn === m.shard.first;
    if (!shardStart && slot.at?.job === job && slot.at.sn === sn - 1) return 'held';
    slot.at = undefined;
    await slot.restorer.reset();
    if (m.prev === undefined) return 'zeros';
    if (!shardStart) {
      const ck = await this.store.get(layout.checkpoint(m.prev.sn), { signal });
      if (ck !== undefined) {
        await slot.restorer.load(ck.body);
        this.log({ event: 'state-loaded', job, sn, from: m.prev.sn });
        return 'loaded';
      }
    }
    try {
      const input = await storeSource(this.store, m.stream.container).read(m.prev, signal);
      const dir = await mkdtemp(path.join(this.workDir, 'warm-'));
      try {
        await warmOn(input, slot.restorer, { workDir: dir, signal, ...(warmTail === undefined ? {} : { tailFrames: warmTail }) });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      this.log({ event: 'state-warmed', job, sn, on: m.prev.sn });
      return 'warmed';
    } catch (e) {
      if (signal.aborted) throw e;
      // A broken previous segment (e.g. one that went to the DLQ) must not stop the stream.
      await slot.restorer.reset();
      this.log({ event: 'state-warm-failed', job, sn, on: m.prev.sn, message: e instanceof Error ? e.message : String(e) });
      return 'zeros';
    }
  }

  /** The restorer's state after the segment it just restored (the checkpoint's bytes). */
  async checkpoint(slot: Slot, job: string, sn: number): Promise<Uint8Array> {
    const bytes = await slot.restorer.snapshot();
    slot.at = { job, sn };
    return bytes;
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.restorer.close()));
    this.slots.length = 0;
  }
}
