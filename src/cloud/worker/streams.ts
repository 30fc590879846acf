// The stream facts every segment message repeats, from a source plan.
import type { SourcePlan } from '../../types.js';
import type { StreamSpec } from '../jobs.js';
import type { ObjectStore } from '../object-store/object-store.js';
import { mediaKeyOf } from '../source.js';

export function streamOf(plan: SourcePlan, job: string, mode: 'vod' | 'live', store: ObjectStore): StreamSpec {
  return { job, mediaKey: mediaKeyOf(plan, store), container: plan.media.container, targetDuration: plan.media.targetDuration, mode };
}
