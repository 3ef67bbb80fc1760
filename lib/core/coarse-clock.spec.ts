import { afterEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { FakeClock } from '../testing/fake-clock.js';
import { Breaker } from './breaker.js';
import { CoarseClock } from './coarse-clock.js';
import { TimeWindow } from './outcome-window.js';

/**
 * The time window's bucket rule with the coarse clock: every outcome lands in the bucket where its
 * call ended, or the one before it. Time is a FakeClock; the coarse clock's timer is driven by it (a
 * tick fires at every multiple of the resolution the clock passes), as the event loop would.
 */
class FakeTimerHost {
  private timers = new Map<number, { fn: () => void; ms: number; next: number }>();
  private ids = 0;
  constructor(private readonly clock: FakeClock) {}

  readonly setInterval = (fn: () => void, ms: number): number => {
    const id = ++this.ids;
    this.timers.set(id, { fn, ms, next: this.clock.now() + ms });
    return id;
  };

  readonly clearInterval = (id: never): void => {
    this.timers.delete(id as unknown as number);
  };

  /** Advances the clock, firing each timer at its due times (in order); `lagMs` delays every tick. */
  advance(ms: number, lagMs = 0): void {
    const end = this.clock.now() + ms;
    for (;;) {
      let due: { fn: () => void; ms: number; next: number } | undefined;
      for (const t of this.timers.values()) if (t.next + lagMs <= end && (due === undefined || t.next < due.next)) due = t;
      if (due === undefined) break;
      this.clock.set(Math.max(this.clock.now(), due.next + lagMs));
      due.next += due.ms;
      due.fn();
    }
    this.clock.set(end);
  }

  get running(): number {
    return this.timers.size;
  }
}

function setup(resolutionMs = 10) {
  const clock = new FakeClock(1_000_000);
  const host = new FakeTimerHost(clock);
  const coarse = new CoarseClock(() => clock.now(), resolutionMs, () => host);
  return { clock, host, coarse };
}

describe('CoarseClock', () => {
  it('reads the source once per tick, never more than one resolution behind while ticks are on time', () => {
    const { clock, host, coarse } = setup(10);
    let reads = 0;
    const counted = new CoarseClock(() => (reads++, clock.now()), 10, () => host);
    expect(counted.now()).toBe(clock.now());
    for (let i = 0; i < 1_000; i++) {
      host.advance(0.37);
      const lag = clock.now() - counted.now();
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThanOrEqual(10);
    }
    // 370 ms at one reading per 10 ms tick (plus the first), not one per call.
    expect(reads).toBeLessThanOrEqual(39);
    coarse.stop();
    counted.stop();
  });

  it('stops its timer after a tick without reads; the first read after an idle period is exact', () => {
    const { clock, host, coarse } = setup(10);
    coarse.now();
    expect(host.running).toBe(1);
    host.advance(25);
    expect(host.running).toBe(0); // no timer left behind while nobody reads
    host.advance(5_000);
    expect(coarse.now()).toBe(clock.now());
    expect(host.running).toBe(1);
    coarse.stop();
  });

  it('a long synchronous run of reads sees time pass (a reading every 1,024 reads)', () => {
    const { clock, coarse } = setup(10);
    coarse.now();
    clock.advance(500); // the event loop is busy: no tick fires
    let last = 0;
    for (let i = 0; i < 1_024; i++) last = coarse.now();
    expect(last).toBe(clock.now());
    coarse.stop();
  });
});

describe('TimeWindow with the coarse clock: the bucket rule', () => {
  const DURATION_MS = 1_000;
  const BUCKETS = 10;
  const WIDTH = DURATION_MS / BUCKETS;

  it('every outcome is counted in the bucket where its call ended, or the one before (property)', () => {
    fc.assert(
      fc.property(
        // Mostly steps below the resolution (the timer keeps running, readings are shared), some longer.
        fc.array(fc.record({
          stepMs: fc.oneof({ weight: 30, arbitrary: fc.integer({ min: 0, max: 400 }).map((n) => n / 100) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 300 }) }),
          failed: fc.boolean(),
        }), { minLength: 300, maxLength: 1_000 }),
        (steps) => {
          const { clock, host, coarse } = setup(10);
          const window = new TimeWindow(DURATION_MS, BUCKETS);
          const ended: { at: number; failed: boolean }[] = [];
          const bucket = (t: number) => Math.floor(t / WIDTH);
          for (const { stepMs, failed } of steps) {
            host.advance(stepMs);
            ended.push({ at: clock.now(), failed });
            window.record(coarse.now(), failed, false);
          }
          // Then, as time goes on, what the window counts: outcomes whose bucket is one of the last BUCKETS.
          const last = clock.now();
          for (let t = last; t <= last + DURATION_MS + WIDTH; t += WIDTH / 4) {
            window.refresh(t);
            const newest = bucket(t);
            const inWindow = (b: number) => b > newest - BUCKETS && b <= newest;
            // Surely counted: both candidate buckets are in the window; possibly: either is.
            const sure = ended.filter((o) => inWindow(bucket(o.at)) && inWindow(bucket(o.at) - 1));
            const maybe = ended.filter((o) => inWindow(bucket(o.at)) || inWindow(bucket(o.at) - 1));
            expect(window.calls).toBeGreaterThanOrEqual(sure.length);
            expect(window.calls).toBeLessThanOrEqual(maybe.length);
            expect(window.failures).toBeGreaterThanOrEqual(sure.filter((o) => o.failed).length);
            expect(window.failures).toBeLessThanOrEqual(maybe.filter((o) => o.failed).length);
          }
          coarse.stop();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an outcome that ends just after a bucket boundary lands in that bucket or the one before, never earlier', () => {
    const { clock, host, coarse } = setup(10);
    const window = new TimeWindow(DURATION_MS, BUCKETS);
    coarse.now();
    host.advance(WIDTH - (clock.now() % WIDTH) + 1); // 1 ms into a new bucket
    window.record(coarse.now(), true, false);
    // One bucket after the outcome's own bucket has aged out, it is gone; one bucket before, it is there.
    const own = Math.floor(clock.now() / WIDTH);
    window.refresh((own + BUCKETS - 1) * WIDTH); // the window's oldest bucket is `own`
    expect(window.failures).toBe(1);
    window.refresh((own + BUCKETS + 1) * WIDTH); // `own` and the one before have left
    expect(window.failures).toBe(0);
    coarse.stop();
  });
});

describe('a time window breaker under jest fake timers (the default clock)', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('successes are counted at the fake time they end, also when the coarse clock ran on real timers before', async () => {
    // Real timers first: the process-wide coarse clock starts its timer with them.
    const warm = new Breaker('warm', { window: { type: 'time', durationMs: 10_000 }, failureThreshold: 100 });
    await warm.execute(() => 'ok');
    jest.useFakeTimers();
    // Buckets of 1 s: the coarse clock serves them.
    const breaker = new Breaker('tenant-7', { window: { type: 'time', durationMs: 10_000 }, failureRateThreshold: 60, minimumCalls: 3 });
    const fail = () => breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await breaker.execute(() => 'ok');
    await jest.advanceTimersByTimeAsync(5_000);
    for (let i = 0; i < 3; i++) await breaker.execute(() => 'ok'); // end at 5 s
    await jest.advanceTimersByTimeAsync(5_500); // 10.5 s: the first success has left, these three have not
    for (let i = 0; i < 3; i++) await fail();
    // 3 failures of 6 calls (50% < 60%). Counted at a stale time (0 s), the successes would be gone: 3 of 3.
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failure_count: 3 });
    await fail(); // 4 of 7 (57%)
    expect(breaker.state).toBe('closed');
    await fail(); // 5 of 8 (62.5%)
    expect(breaker.state).toBe('open');
    warm.dispose();
    breaker.dispose();
  });
});
