import type { Clock } from '../core/clock.js';

/**
 * A manual clock for tests: pass it as a breaker's `clock` option and move time with `advance()`,
 * instead of sleeping.
 *
 * @example
 * const clock = new FakeClock();
 * const breaker = new Breaker('payments', { resetTimeoutMs: 30_000, clock });
 * clock.advance(30_000); // breaker.state is now 'half_open' if it was open
 */
export class FakeClock implements Clock {
  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  /** Moves time forward by `ms` (>= 0). */
  advance(ms: number): void {
    if (!(typeof ms === 'number' && Number.isFinite(ms) && ms >= 0)) {
      throw new RangeError(`FakeClock.advance: expected a finite number of ms >= 0, received ${String(ms)}`);
    }
    this.current += ms;
  }

  /** Sets the time (it may not go backwards: the clock is monotonic). */
  set(ms: number): void {
    if (!(typeof ms === 'number' && Number.isFinite(ms) && ms >= this.current)) {
      throw new RangeError(`FakeClock.set: expected a finite time >= ${this.current}, received ${String(ms)}`);
    }
    this.current = ms;
  }
}
