import type { Clock } from './clock.js';

/** How often the process-wide coarse clock reads the real one while it is in use, in ms. */
export const COARSE_RESOLUTION_MS = 10;
/** Reads served from one real reading at most, so a long synchronous run of calls still sees time pass. */
const READS_PER_READING = 1_024;

type IntervalHost = {
  setInterval: (fn: () => void, ms: number) => unknown;
  clearInterval: (timer: never) => void;
};

/**
 * A clock that reads `source` about every `resolutionMs` instead of on every call: one unref'd timer
 * for the whole process while the clock is in use, none per breaker. Reading it costs a compare and a
 * decrement. It serves time windows, whose buckets are much wider than the resolution, so each
 * outcome still lands in the bucket where the call ended, or the one before it.
 *
 * - The timer stops after an interval without reads; the first read after that reads `source`
 *   (an idle period never leaves a stale time behind).
 * - At most `READS_PER_READING` reads share one reading (a long synchronous run of calls).
 * - It follows the global timer functions: when they are replaced (`jest.useFakeTimers()`) or
 *   restored, the next read reads `source` and restarts the timer with the current ones, so fake
 *   timers move it as they move everything else.
 */
export class CoarseClock implements Clock {
  private cached = 0;
  /** reads left before the next real reading; 0 = stopped or used up */
  private left = 0;
  private timer: unknown = null;
  /** the `setInterval` the timer was started with, and its `clearInterval` */
  private startedWith: unknown = null;
  private clearWith: ((timer: never) => void) | null = null;

  constructor(
    private readonly source: () => number,
    readonly resolutionMs: number,
    private readonly host: () => IntervalHost = () => globalThis as unknown as IntervalHost,
  ) {}

  now(): number {
    if (--this.left > 0 && this.host().setInterval === this.startedWith) return this.cached;
    return this.read();
  }

  /** Stops the timer (the next read starts it again). */
  stop(): void {
    if (this.timer !== null) this.clearWith!(this.timer as never);
    this.timer = this.startedWith = this.clearWith = null;
    this.left = 0;
  }

  private read(): number {
    this.cached = this.source();
    this.left = READS_PER_READING;
    const host = this.host();
    if (this.timer === null || host.setInterval !== this.startedWith) {
      this.stop();
      this.left = READS_PER_READING;
      this.startedWith = host.setInterval;
      this.clearWith = host.clearInterval;
      const timer = host.setInterval(this.tick, this.resolutionMs) as { unref?: () => void };
      timer.unref?.();
      this.timer = timer;
    }
    return this.cached;
  }

  private readonly tick = (): void => {
    if (this.left === READS_PER_READING || this.host().setInterval !== this.startedWith) {
      // No read since the last tick (or the timer functions changed): stop until the next read.
      this.stop();
      return;
    }
    this.cached = this.source();
    this.left = READS_PER_READING;
  };
}

/**
 * The process-wide coarse clock over the default monotonic clock. Time windows use it when their
 * buckets are at least `COARSE_MIN_BUCKET_MS` wide; narrower ones read the real clock per call.
 */
export const coarseMonotonicClock = new CoarseClock(() => performance.now(), COARSE_RESOLUTION_MS);
/** The narrowest bucket served by the coarse clock: the resolution is then at most a fifth of a bucket. */
export const COARSE_MIN_BUCKET_MS = 5 * COARSE_RESOLUTION_MS;
