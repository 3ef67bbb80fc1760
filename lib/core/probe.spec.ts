import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import { Breaker } from './breaker.js';
import type { StateChangeEvent } from './events.js';
import type { CircuitBreakerOptions } from './options.js';

// The active probe (`probe: { intervalMs, fn }`): while OPEN, one unref'd interval checks the
// dependency and moves the breaker to HALF_OPEN early when the check succeeds.

const INTERVAL = 1_000;
const RESET = 60_000;
const silentLogger = { error: jest.fn(), warn: jest.fn() };
const fail = async () => {
  throw new Error('down');
};

function make(probeFn: () => unknown, options: CircuitBreakerOptions = {}) {
  const clock = new FakeClock();
  const fn = jest.fn(probeFn);
  const breaker = new Breaker(
    'search',
    { failureThreshold: 1, resetTimeoutMs: RESET, clock, probe: { intervalMs: INTERVAL, fn }, ...options },
    { logger: silentLogger },
  );
  const changes: StateChangeEvent[] = [];
  breaker.on('stateChange', (e) => changes.push(e));
  return { breaker, clock, probe: fn, changes };
}

async function trip(breaker: Breaker) {
  await breaker.execute(fail).catch(() => undefined);
  expect(breaker.state).toBe('open');
}

/** Advances the fake timers and lets the probe's promise callbacks run. */
const tick = (ms = INTERVAL) => jest.advanceTimersByTimeAsync(ms);

describe('active probe (fake timers)', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(() => {
    jest.clearAllTimers();
    jest.useRealTimers();
  });

  it('sets no timer while CLOSED and never probes then', async () => {
    const { probe } = make(async () => 'up');
    expect(jest.getTimerCount()).toBe(0);
    await tick(10 * INTERVAL);
    expect(probe).not.toHaveBeenCalled();
  });

  it('while OPEN, probes once per interval with one timer; a failing probe keeps it OPEN', async () => {
    const { breaker, probe } = make(fail);
    await trip(breaker);
    expect(jest.getTimerCount()).toBe(1);
    await tick(INTERVAL - 1);
    expect(probe).not.toHaveBeenCalled();
    await tick(1);
    expect(probe).toHaveBeenCalledTimes(1);
    await tick(2 * INTERVAL);
    expect(probe).toHaveBeenCalledTimes(3);
    expect(breaker.state).toBe('open');
    expect(jest.getTimerCount()).toBe(1);
  });

  it('a successful probe moves OPEN → HALF_OPEN long before resetTimeoutMs, then stops probing', async () => {
    let up = false;
    const { breaker, probe, changes } = make(async () => {
      if (!up) throw new Error('still down');
    });
    await trip(breaker);
    await tick();
    expect(breaker.state).toBe('open');
    up = true;
    await tick();
    expect(breaker.state).toBe('half_open'); // the FakeClock has not moved: resetTimeoutMs is far away
    expect(changes.at(-1)).toMatchObject({ from: 'open', to: 'half_open', reason: 'active probe succeeded' });
    expect(jest.getTimerCount()).toBe(0);
    await tick(10 * INTERVAL);
    expect(probe).toHaveBeenCalledTimes(2);
    // the half-open breaker admits a real call as its trial, which closes it
    await expect(breaker.execute(async () => 'result')).resolves.toBe('result');
    expect(breaker.state).toBe('closed');
  });

  it('a probe that returns (sync) counts as healthy; one that throws (sync) as unhealthy', async () => {
    const sick = make(() => {
      throw new Error('sync failure');
    });
    await trip(sick.breaker);
    const healthy = make(() => 'fine');
    await trip(healthy.breaker);
    await tick();
    expect(sick.breaker.state).toBe('open');
    expect(healthy.breaker.state).toBe('half_open');
  });

  it('never runs two probes at once: a slow probe holds back the next ticks', async () => {
    let finish!: () => void;
    const { breaker, probe } = make(() => new Promise<void>((resolve) => (finish = resolve)));
    await trip(breaker);
    await tick(5 * INTERVAL);
    expect(probe).toHaveBeenCalledTimes(1);
    finish();
    await tick(0);
    expect(breaker.state).toBe('half_open');
  });

  it('keeps one interval across open → half-open → open cycles', async () => {
    const { breaker } = make(async () => 'up');
    for (let cycle = 0; cycle < 3; cycle++) {
      await trip(breaker);
      expect(jest.getTimerCount()).toBe(1);
      await tick();
      expect(breaker.state).toBe('half_open');
      expect(jest.getTimerCount()).toBe(0);
      await breaker.execute(fail).catch(() => undefined); // the trial fails: open again
    }
    expect(breaker.state).toBe('open');
    expect(jest.getTimerCount()).toBe(1);
  });

  it('stops when the breaker closes (reset), and does not probe while closed', async () => {
    const { breaker, probe } = make(fail);
    await trip(breaker);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(jest.getTimerCount()).toBe(0);
    await tick(10 * INTERVAL);
    expect(probe).not.toHaveBeenCalled();
  });

  it('stops once resetTimeoutMs moved the breaker to HALF_OPEN on its own', async () => {
    const { breaker, clock, probe } = make(fail);
    await trip(breaker);
    clock.advance(RESET);
    await tick();
    expect(probe).not.toHaveBeenCalled(); // the tick saw HALF_OPEN: no probe, timer gone
    expect(breaker.state).toBe('half_open');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not probe a forced-open or disabled breaker', async () => {
    const forced = make(async () => 'up');
    forced.breaker.forceOpen();
    const disabled = make(async () => 'up');
    await trip(disabled.breaker);
    disabled.breaker.disable();
    expect(jest.getTimerCount()).toBe(0);
    await tick(10 * INTERVAL);
    expect(forced.probe).not.toHaveBeenCalled();
    expect(disabled.probe).not.toHaveBeenCalled();
    expect(forced.breaker.state).toBe('forced_open');
  });

  it('stops when forced open from OPEN (the manual state holds until reset)', async () => {
    const { breaker, probe } = make(async () => 'up');
    await trip(breaker);
    breaker.forceOpen();
    expect(jest.getTimerCount()).toBe(0);
    await tick(10 * INTERVAL);
    expect(probe).not.toHaveBeenCalled();
    expect(breaker.state).toBe('forced_open');
  });

  it('a probe that succeeds after the breaker was reset changes nothing', async () => {
    let finish!: () => void;
    const { breaker, changes } = make(() => new Promise<void>((resolve) => (finish = resolve)));
    await trip(breaker);
    await tick();
    breaker.reset();
    finish();
    await tick(0);
    expect(breaker.state).toBe('closed');
    expect(changes.map((c) => c.to)).toEqual(['open', 'closed']);
  });

  it('dispose() stops the timer and leaves no handle; the breaker stays usable', async () => {
    const { breaker, probe } = make(fail);
    await trip(breaker);
    expect(jest.getTimerCount()).toBe(1);
    breaker.dispose();
    expect(jest.getTimerCount()).toBe(0);
    await tick(10 * INTERVAL);
    expect(probe).not.toHaveBeenCalled();
    expect(breaker.state).toBe('open');
    breaker.dispose(); // idempotent
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a probe that never settles does not stop probing in the next open period', async () => {
    let first = true;
    const { breaker, probe } = make(() => {
      if (first) {
        first = false;
        return new Promise(() => undefined); // hangs forever
      }
      return 'up';
    });
    await trip(breaker);
    await tick();
    expect(probe).toHaveBeenCalledTimes(1);
    breaker.reset();
    await trip(breaker);
    await tick();
    expect(probe).toHaveBeenCalledTimes(2);
    expect(breaker.state).toBe('half_open');
  });

  it('a probe in flight when dispose() is called changes nothing afterwards and starts no timer', async () => {
    let release!: () => void;
    const { breaker } = make(() => new Promise<void>((resolve) => (release = resolve)));
    await trip(breaker);
    await tick();
    breaker.dispose();
    release();
    await tick();
    expect(breaker.state).toBe('open');
    await tick(RESET);
    await breaker.execute(fail).catch(() => undefined); // half-open probe fails: reopens
    expect(breaker.state).toBe('open');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('dispose() on a breaker that never opened is harmless', () => {
    const { breaker } = make(fail);
    breaker.dispose();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('active probe (real timer handle)', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it("the interval is unref'd: it never keeps the process alive", async () => {
    const handles: NodeJS.Timeout[] = [];
    const realSetInterval = globalThis.setInterval;
    jest.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms: number) => {
      const handle = realSetInterval(fn, ms);
      handles.push(handle);
      return handle;
    }) as typeof setInterval);
    const { breaker } = make(fail, { probe: { intervalMs: 3_600_000, fn: fail } });
    await trip(breaker);
    expect(handles).toHaveLength(1);
    expect(handles[0]!.hasRef()).toBe(false);
    breaker.dispose();
  });
});
