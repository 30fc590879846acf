// How the process's V8 decides when to collect. Frames live in ArrayBuffers outside V8's heap
// (3 MB a 1080p frame, 12.4 MB a 4K one, 50 MB a 4K chunk from the model), while the heap itself
// stays near 10 MB. V8 before 14.8 counts every byte allocated in ArrayBuffers since the last
// full collection, dead or alive, and starts another one every few tens of megabytes: a 200-frame
// 1080p -> 4K restore ran 70-78 full collections on the main thread and 37 on the inference
// thread, and V8's background threads spent about 7 ms of CPU per frame marking, sweeping and
// unmapping beside a main thread of about 8. `--external-memory-accounted-in-global-limit` counts
// what ArrayBuffers hold instead, as part of the limit the heap is held to (live external memory
// times a growing factor): about 30 and none, and 3 ms per frame in the background (docs/
// architecture.md, "Host overhead at 4K output"). V8 made it the default in 14.8 and removed the flag there; Node 24
// runs V8 13.6. V8 12 (Node 22) is left as it is: whether it knows the flag was not checked, and a
// flag V8 does not know prints an error line.
import { setFlagsFromString } from 'node:v8';

export const EXTERNAL_MEMORY_FLAG = '--external-memory-accounted-in-global-limit';

/** Whether a V8 of this version (`process.versions.v8`) needs the flag set: 13.0 up to, not including, 14.8. */
export function needsExternalMemoryFlag(v8Version: string): boolean {
  const [major = 0, minor = 0] = v8Version.split('.').map((p) => Number.parseInt(p, 10));
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return false;
  return major === 13 || (major === 14 && minor < 8);
}

/**
 * Sets the flag where this V8 needs it; for the whole process, inference threads included. Called
 * once, before the work starts (the `swiftvr` bin does it first thing). Returns whether it was set.
 */
export function accountExternalMemoryInHeapLimit(v8Version: string = process.versions.v8): boolean {
  if (!needsExternalMemoryFlag(v8Version)) return false;
  setFlagsFromString(EXTERNAL_MEMORY_FLAG);
  return true;
}
