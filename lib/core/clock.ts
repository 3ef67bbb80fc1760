/** A source of monotonic time in milliseconds. Decisions never use the wall clock. */
export interface Clock {
  now(): number;
}

/** The default clock: `performance.now()`, immune to wall-clock jumps. */
export const monotonicClock: Clock = Object.freeze({ now: () => performance.now() });
