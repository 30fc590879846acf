// Reading a stream's source playlist from the object store. The HLS reader does the parsing
// and the URI policy (same bucket, inside the playlist's folder, no `..`); this module gives it
// an S3 loader backed by the job's ObjectStore and turns the plan into queue-ready specs.

import { SwiftvrError, badInput } from '../errors.js';
import { readSourcePlan } from '../hls/playlist-reader.js';
import type { LoadOptions, Loader } from '../hls/resource-loader.js';
import type { SegmentInput, SegmentSource } from '../pipeline/segment-input.js';
import type { ContainerKind, ResourceLocation, SegmentRef, SourcePlan } from '../types.js';
import type { SegmentSpec } from './jobs.js';
import type { ObjectStore } from './object-store/object-store.js';

/** The s3 loader of a job: reads s3://<store.bucket>/... through the store, nothing else. */
function storeLoader(store: ObjectStore): Loader {
  return async (location: ResourceLocation, opts: LoadOptions): Promise<Uint8Array> => {
    if (location.kind !== 's3') throw new SwiftvrError('internal', `S3 loader given a ${location.kind} location`);
    const uri = `s3://${location.bucket}/${location.key}`;
    if (location.bucket !== store.bucket)
      throw badInput(`${uri} names bucket ${location.bucket}, which this worker does not serve`, { uri });
    const got = await store.get(location.key, {
      ...(opts.byteRange === undefined ? {} : { range: opts.byteRange }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    if (got === undefined) throw badInput(`${uri} does not exist`, { uri });
    return got.body;
  };
}

/** Reads the playlist at `key` (multivariant or media) under the policy of its folder. */
export async function readStoredPlan(store: ObjectStore, key: string, signal?: AbortSignal): Promise<SourcePlan> {
  return readSourcePlan(`s3://${store.bucket}/${key}`, { s3: storeLoader(store), ...(signal === undefined ? {} : { signal }) });
}

/** The object key of a location the reader resolved (always s3 here: the policy allows nothing else). */
function keyOf(location: ResourceLocation, store: ObjectStore): string {
  if (location.kind !== 's3' || location.bucket !== store.bucket) {
    throw new SwiftvrError('internal', `resolved location ${JSON.stringify(location)} is not in bucket ${store.bucket}`);
  }
  return location.key;
}

export function segmentSpecOf(s: SegmentRef, store: ObjectStore): SegmentSpec {
  return {
    sn: s.sn,
    key: keyOf(s.location, store),
    ...(s.byteRange === undefined ? {} : { byteRange: s.byteRange }),
    duration: s.duration,
    discontinuity: s.discontinuity,
    discontinuitySequence: s.discontinuitySequence,
    ...(s.programDateTime === undefined ? {} : { programDateTime: s.programDateTime.toISOString() }),
    ...(s.map === undefined ? {} : { mapKey: keyOf(s.map.location, store) }),
  };
}

/** The media playlist's key: the chosen variant's, or the input's own. */
export const mediaKeyOf = (plan: SourcePlan, store: ObjectStore): string => keyOf(plan.media.location, store);

/** The cloud source of a stream's segments: their bytes (and init sections) from the object store. */
export function storeSource(store: ObjectStore, container: ContainerKind): SegmentSource<SegmentSpec> {
  return {
    initOf: (s) => s.mapKey ?? '',
    async read(s, signal): Promise<SegmentInput> {
      const get = async (key: string, range?: SegmentSpec['byteRange']): Promise<Uint8Array> => {
        const got = await store.get(key, { signal, ...(range === undefined ? {} : { range }) });
        if (got === undefined) {
          throw new SwiftvrError('bad-input', `source object ${store.name}/${key} does not exist`, {
            context: { sn: s.sn, uri: key, stage: 'load' },
          });
        }
        return got.body;
      };
      const [bytes, initBytes] = await Promise.all([get(s.key, s.byteRange), s.mapKey === undefined ? undefined : get(s.mapKey)]);
      return { sn: s.sn, uri: s.key, container, bytes, duration: s.duration, ...(initBytes === undefined ? {} : { initBytes }) };
    },
  };
}
