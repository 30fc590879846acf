// Imported first by the `swiftvr` bin, so V8's collection limits are set before anything else
// loads or allocates (src/util/heap-limits.ts says why).
import { accountExternalMemoryInHeapLimit } from '../util/heap-limits.js';

accountExternalMemoryInHeapLimit();
