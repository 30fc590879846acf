// The time as the live deadlines see it: epoch milliseconds from `now()`. Workers take one in their
// options, so the go/no-go of a live restore and its tests do not depend on the machine's load.
export interface Clock {
  readonly now: () => number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
