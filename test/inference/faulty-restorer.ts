// A restorer wrapped with injected faults, for tests of what happens when the model fails or is
// slow: the Nth push fails as a broken model run would, or every push waits first.
import { setTimeout as sleep } from 'node:timers/promises';
import { SwiftvrError } from '../../src/errors.js';
import { openRestorer, type Restorer } from '../../src/inference/restorer.js';

export interface Faults {
  /** Pushes (counting from 1) that fail with a model error. */
  readonly failPushes?: readonly number[];
  /** Milliseconds a push waits first (a restorer slower than real time): every push, or by push number. */
  readonly pushDelayMs?: number | ((push: number) => number);
}

export function faultyRestorer(faults: Faults): typeof openRestorer {
  return async (model, options) => {
    const inner = await openRestorer(model, options);
    let pushes = 0;
    const push: Restorer['push'] = async (frame) => {
      pushes++;
      const delay = typeof faults.pushDelayMs === 'function' ? faults.pushDelayMs(pushes) : faults.pushDelayMs;
      if (delay !== undefined && delay > 0) await sleep(delay);
      if (faults.failPushes?.includes(pushes) === true) throw new SwiftvrError('model', 'inference failed: out of memory (injected)');
      return inner.push(frame);
    };
    return Object.assign(Object.create(inner) as Restorer, {
      push,
      flush: () => inner.flush(),
      reset: () => inner.reset(),
      snapshot: () => inner.snapshot(),
      load: (b: Uint8Array) => inner.load(b),
      close: () => inner.close(),
    });
  };
}
