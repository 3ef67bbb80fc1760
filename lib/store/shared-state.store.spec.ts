import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { FakeClock } from '../testing/fake-clock.js';
import { describeCircuitBreakerStoreContract } from '../testing/store-contract.js';
import { Breaker, type SharedTransition } from '../core/breaker.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import type { CircuitBreakerOptions } from '../core/options.js';
import { InMemoryCircuitBreakerStore, InMemoryStoreBackend, type SharedStoreMessage } from './index.js';

describeCircuitBreakerStoreContract('InMemoryCircuitBreakerStore', () => {
  const backend = new InMemoryStoreBackend();
  return { createStore: () => new InMemoryCircuitBreakerStore({ backend, logger: quietLogger() }) };
});

function quietLogger() {
  return { log: jest.fn<(message: string) => void>(), warn: jest.fn<(message: string) => void>() };
}

type Mode = 'up' | 'hang' | 'fail' | 'down' | 'frozen';

/** An in-memory store whose backend can stop answering, fail, or be unreachable. */
class FlakyStore extends InMemoryCircuitBreakerStore {
  mode: Mode = 'up';
  readonly log: ReturnType<typeof quietLogger>;

  constructor(backend: InMemoryStoreBackend, timeoutMs = 50) {
    const log = quietLogger();
    super({ backend, timeoutMs, logger: log });
    this.log = log;
  }

  comeBack(): void {
    this.mode = 'up';
    this.reconnected();
  }

  private thawed: Promise<void> | null = null;
  private thawNow: () => void = () => undefined;

  /** Requests wait, in order, until `thaw()` runs them: a Redis stopped by SIGSTOP, then resumed. */
  freeze(): void {
    this.mode = 'frozen';
    this.thawed = new Promise((resolve) => (this.thawNow = resolve));
  }

  thaw(): void {
    this.mode = 'up';
    this.thawNow();
    this.thawed = null;
  }

  protected override isConnected(): boolean {
    return this.mode !== 'down';
  }

  /** An unreachable backend delivers no broadcasts either. */
  protected override receive(message: SharedStoreMessage): void {
    if (this.mode === 'up') super.receive(message);
  }

  private async gate(): Promise<void> {
    if (this.mode === 'hang') await new Promise(() => undefined);
    if (this.mode === 'frozen') await this.thawed;
    if (this.mode === 'fail') throw Object.assign(new Error('connect ECONNREFUSED redis://admin:s3cret@db:6379'), { code: undefined });
  }

  protected override async read(name: string) {
    await this.gate();
    return super.read(name);
  }

  protected override async write(name: string, transition: SharedTransition, ttlMs: number | null, message: SharedStoreMessage) {
    await this.gate();
    return super.write(name, transition, ttlMs, message);
  }

  protected override async acquireLease(name: string, token: string, limit: number, ttlMs: number) {
    await this.gate();
    return super.acquireLease(name, token, limit, ttlMs);
  }

  protected override async releaseLease(name: string, token: string) {
    await this.gate();
    return super.releaseLease(name, token);
  }
}

const silent = { error: () => undefined, warn: () => undefined };
const fail = () => Promise.reject(new Error('down'));
const ok = () => Promise.resolve('ok');

describe('SharedStateStore when the backend fails', () => {
  const clock = new FakeClock();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    jest.useRealTimers();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function instance(store: InMemoryCircuitBreakerStore, options: CircuitBreakerOptions = {}) {
    const breaker = new Breaker('payments', { failureThreshold: 1, resetTimeoutMs: 10_000, clock, ...options }, { logger: silent });
    cleanups.push(() => store.close());
    await store.attach(breaker);
    return breaker;
  }

  /**
   * Moves fake time by `ms`, then lets one real turn of the event loop pass (a store gives an answer
   * one turn after its timeout to arrive: `setImmediate` stays real) and the work it released run.
   */
  async function advance(ms: number): Promise<void> {
    await jest.advanceTimersByTimeAsync(ms);
    await new Promise((resolve) => setImmediate(resolve));
    await jest.advanceTimersByTimeAsync(0);
  }

  /** Lets in-memory broadcasts and timers due now run. */
  const settle = () => advance(0);

  /** Two instances of a service sharing one in-memory backend. */
  async function twoInstances() {
    const backend = new InMemoryStoreBackend();
    const a = new FlakyStore(backend);
    const b = new FlakyStore(backend);
    return { a, b, breakerA: await instance(a), breakerB: await instance(b) };
  }

  it('a lease not answered within timeoutMs admits the probe under the local limit, and says so once', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const backend = new InMemoryStoreBackend();
    const store = new FlakyStore(backend, 50);
    const breaker = await instance(store, { halfOpenMaxCalls: 1 });
    await breaker.execute(fail).catch(() => undefined);
    clock.advance(10_000);
    store.mode = 'hang';

    const dependency = jest.fn(ok);
    const probe = breaker.execute(dependency);
    // The local limit still holds while the lease is pending.
    await expect(breaker.execute(ok)).rejects.toMatchObject({ state: 'half_open' });
    await advance(49);
    expect(dependency).not.toHaveBeenCalled();
    await advance(1);
    await expect(probe).resolves.toBe('ok');
    expect(dependency).toHaveBeenCalledTimes(1);
    expect(breaker.state).toBe('closed');
    expect(store.log.warn).toHaveBeenCalledTimes(1);
    expect(store.log.warn.mock.calls[0]![0]).toMatch(/^Circuit breaker store \(in-memory\) unavailable: the half-open lease of 'payments' got no answer within 50 ms \(timeout\)\. Breakers run on local state/);
  });

  it('a lease granted after its request timed out is given back: the fleet can probe at once', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const backend = new InMemoryStoreBackend();
    const a = new FlakyStore(backend);
    const b = new FlakyStore(backend);
    const breakerA = await instance(a, { halfOpenMaxCalls: 1, halfOpenTimeoutMs: 60_000 });
    const breakerB = new Breaker('payments', { failureThreshold: 1, resetTimeoutMs: 10_000, halfOpenMaxCalls: 1, halfOpenTimeoutMs: 60_000, clock }, { logger: silent });
    cleanups.push(() => b.close());
    await b.attach(breakerB);
    await breakerA.execute(fail).catch(() => undefined);
    await settle();
    expect(breakerB.state).toBe('open');
    clock.advance(10_000);

    a.freeze();
    const hanging = breakerA.execute(() => new Promise<string>(() => undefined)); // a probe that never settles
    void hanging.catch(() => undefined);
    await advance(50); // the lease request timed out: the probe runs under the local limit
    a.thaw(); // the store now grants the lease, after A stopped waiting for it
    await settle();
    expect(backend.leasesHeld('payments')).toBe(0);
    // B's probe gets the fleet's lease instead of a refusal until halfOpenTimeoutMs.
    await expect(breakerB.execute(ok)).resolves.toBe('ok');
    expect(breakerB.state).toBe('closed');
  });

  it('leases go back when the breaker moved on meanwhile or is detached, and a transition clears them', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const backend = new InMemoryStoreBackend();
    const store = new FlakyStore(backend);
    const breaker = await instance(store, { halfOpenMaxCalls: 2 });
    await breaker.execute(fail).catch(() => undefined);
    clock.advance(10_000);

    // A probe that is ignored (cancelled) gives its lease back.
    const admitted = await breaker.acquire();
    expect(backend.leasesHeld('payments')).toBe(1);
    admitted.ignore();
    await settle();
    expect(backend.leasesHeld('payments')).toBe(0);

    // A lease granted while the breaker moved on goes back.
    store.freeze();
    const pending = breaker.acquire() as Promise<unknown>;
    void pending.catch(() => undefined);
    breaker.forceOpen(); // the transition's write queues behind the lease request
    await advance(10);
    store.thaw();
    await settle();
    await advance(50);
    await expect(pending).rejects.toMatchObject({ state: 'forced_open' });
    expect(backend.leasesHeld('payments')).toBe(0);

    // A transition clears the generation's leases; detaching gives back what it holds.
    breaker.reset();
    await breaker.execute(fail).catch(() => undefined);
    await settle(); // the open transition is stored
    clock.advance(10_000);
    await breaker.acquire();
    expect(backend.leasesHeld('payments')).toBe(1);
    await store.close();
    expect(backend.leasesHeld('payments')).toBe(0);
  });

  it('a transition made while the store is down is shared when it is back; one line each way', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const { a, b, breakerA, breakerB } = await twoInstances();

    a.mode = 'down';
    await breakerA.execute(fail).catch(() => undefined);
    breakerA.forceOpen();
    breakerA.reset();
    breakerA.forceOpen();
    await settle();
    expect(breakerA.state).toBe('forced_open');
    expect(breakerB.state).toBe('closed');
    expect(a.log.warn).toHaveBeenCalledTimes(1);
    expect(a.log.warn.mock.calls[0]![0]).toContain('unavailable: not connected');

    a.comeBack();
    await settle();
    expect(breakerB.state).toBe('forced_open');
    expect(a.log.log.mock.calls).toEqual([['Circuit breaker store (in-memory) available again; resynchronised 1 breaker']]);
    expect(a.log.warn).toHaveBeenCalledTimes(1);
  });

  it('after an outage, a newer transition of the fleet wins over the stale local one (last writer wins)', async () => {
    jest.useFakeTimers({ now: 1_000_000, doNotFake: ['setImmediate'] });
    const { a, b, breakerA, breakerB } = await twoInstances();

    a.mode = 'down';
    breakerA.forceOpen(); // not shared: a's store is down
    jest.setSystemTime(1_000_500);
    clock.advance(500);
    breakerB.disable(); // later, shared with everyone a's store can reach
    await settle();
    expect(breakerA.state).toBe('forced_open');
    a.comeBack();
    await settle();
    expect(breakerA.state).toBe('disabled');
    expect(breakerB.state).toBe('disabled');
  });

  it('a store that stops answering recovers by itself once it answers again', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const { a, b, breakerA, breakerB } = await twoInstances();

    a.mode = 'fail';
    breakerA.forceOpen();
    await settle();
    expect(a.log.warn).toHaveBeenCalledTimes(1);
    expect(a.log.warn.mock.calls[0]![0]).toContain("sharing a transition of 'payments' failed (Error: connect ECONNREFUSED redis://***@db:6379)");
    expect(a.log.warn.mock.calls[0]![0]).not.toContain('s3cret');
    await advance(5_000);
    expect(a.log.warn).toHaveBeenCalledTimes(1); // still failing, still one line
    expect(breakerB.state).toBe('closed');

    a.mode = 'up'; // connected all along: the store retries on its own
    await advance(1_000);
    expect(breakerB.state).toBe('forced_open');
    expect(a.log.log).toHaveBeenCalledTimes(1);
  });

  it('attach does not wait longer than timeoutMs for the shared state; the breaker starts locally', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    const backend = new InMemoryStoreBackend();
    const a = new FlakyStore(backend);
    const breakerA = await instance(a);
    breakerA.forceOpen();
    await settle();

    const late = new FlakyStore(backend);
    late.mode = 'hang';
    const breaker = new Breaker('payments', { clock }, { logger: silent });
    cleanups.push(() => late.close());
    let attached = false;
    void late.attach(breaker).then(() => (attached = true));
    await advance(49);
    expect(attached).toBe(false);
    await advance(1);
    expect(attached).toBe(true);
    expect(breaker.state).toBe('closed');

    late.mode = 'up';
    await advance(1_000); // catches up once the store answers
    expect(breaker.state).toBe('forced_open');
  });

  it('closes without touching the breakers, which keep working locally', async () => {
    const backend = new InMemoryStoreBackend();
    const store = new InMemoryCircuitBreakerStore({ backend });
    const breaker = await instance(store);
    await store.close();
    await store.close(); // idempotent
    await breaker.execute(fail).catch(() => undefined);
    expect(breaker.state).toBe('open');
    expect(backend.read('payments')).toBeNull();
    await expect(store.attach(new Breaker('other'))).rejects.toThrow('Circuit breaker store (in-memory) is closed; create a new store to attach breakers');
  });

  it('refuses a second breaker of the same name', async () => {
    const store = new InMemoryCircuitBreakerStore();
    await instance(store);
    await expect(store.attach(new Breaker('payments'))).rejects.toThrow("a breaker named 'payments' is already attached");
  });
});

describe('InMemoryStoreBackend', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('expires records and leases on the wall clock; a newer write wins, an older one gets the newer back', () => {
    jest.useFakeTimers({ now: 1_000 });
    const backend = new InMemoryStoreBackend();
    const open: SharedTransition = { state: 'open', openUntil: 2_000, reason: 'r', at: 1_000 };
    const message = (transition: SharedTransition) => ({ origin: 'x', name: 'p', transition });
    expect(backend.write('p', open, 1_500, message(open))).toBeNull();
    const older: SharedTransition = { state: 'closed', reason: 'r', at: 999 };
    expect(backend.write('p', older, null, message(older))).toEqual(open);
    expect(backend.acquireLease('p', 't1', 1, 100)).toBe(true);
    expect(backend.acquireLease('p', 't2', 1, 100)).toBe(false);
    jest.setSystemTime(1_100);
    expect(backend.acquireLease('p', 't3', 1, 100)).toBe(true);
    backend.releaseLease('p', 'someone-else');
    expect(backend.acquireLease('p', 't4', 1, 100)).toBe(false);
    backend.releaseLease('p', 't3');
    expect(backend.acquireLease('p', 't4', 1, 100)).toBe(true);
    jest.setSystemTime(2_500);
    expect(backend.read('p')).toBeNull();
  });
});

describe('store options', () => {
  it('names every bad option and what was expected', () => {
    let error: unknown;
    try {
      new InMemoryCircuitBreakerStore({ timeoutMs: 0, startupTimeoutMs: -1, logger: {} as never, backend: {} as never, url: 'redis://u:pw@h' } as never);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    const message = (error as Error).message;
    expect(message).toContain('5 problems');
    expect(message).toContain('timeoutMs: expected a duration in ms: a finite number > 0, received 0');
    expect(message).toContain('startupTimeoutMs: expected a duration in ms: a finite number >= 0, received -1');
    expect(message).toContain('logger: expected a logger { log(message), warn(message) }');
    expect(message).toContain('backend: expected an InMemoryStoreBackend (or no backend)');
    expect(message).toContain('url: unknown option (known: backend, timeoutMs, startupTimeoutMs, heartbeatMs, closeTimeoutMs, logger), received "redis://***@h"');
  });
});
