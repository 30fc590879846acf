// A failure in the inference thread crosses to the caller whole: kind, code, context, reason and
// cause (through the structured clone a MessagePort makes), so nothing downstream parses text.
import { describe, expect, it } from 'vitest';
import { SwiftvrError, reasonOf } from '../../src/errors.js';
import { threadError, threadFailure } from '../../src/inference/thread-protocol.js';

describe('thread failures', () => {
  it('keep kind, code, retryable, context, reason and cause across the port', () => {
    const cause = new RangeError('tensor shape [1, 3] does not match [1, 4]');
    const e = new SwiftvrError('model', 'segment sn=4 (a.ts): inference failed: shape', {
      code: 'thread-failed',
      reason: 'inference failed: shape',
      context: { sn: 4, uri: 'a.ts', stage: 'restore' },
      cause,
      retryable: false,
    });
    const back = threadError(structuredClone(threadFailure(7, e)));
    expect(back).toBeInstanceOf(SwiftvrError);
    expect(back).toMatchObject({
      kind: 'model',
      code: 'thread-failed',
      message: e.message,
      reason: 'inference failed: shape',
      retryable: false,
      context: { sn: 4, uri: 'a.ts', stage: 'restore' },
    });
    expect(back.cause).toBeInstanceOf(Error);
    expect((back.cause as Error).message).toBe(cause.message);
    expect((back.cause as Error).name).toBe('RangeError');
    expect((back.cause as Error).stack).toContain('thread-errors.unit.test.ts');
    expect(reasonOf(back)).toBe('inference failed: shape');
  });
  it('a plain error thrown in the thread arrives as internal with the thread-failed code and its cause', () => {
    const back = threadError(structuredClone(threadFailure(1, new TypeError('x is not a function'))));
    expect(back).toMatchObject({ kind: 'internal', code: 'thread-failed', message: 'x is not a function', retryable: false });
    expect((back.cause as Error).name).toBe('TypeError');
  });
});
