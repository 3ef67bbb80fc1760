import { afterEach, describe, expect, it } from '@jest/globals';
import { Breaker } from '../core/breaker.js';
import type { CircuitBreakerOptions } from '../core/options.js';
import type { CircuitBreakerStore } from '../store/index.js';
import { eventually as retryUntil } from './eventually.js';
import type { Clock } from '../core/clock.js';

/**
 * One fleet for one test: every store `createStore()` returns is one instance of a service, and all of
 * them share one backend (one Redis database and key prefix, one `InMemoryStoreBackend`, …).
 */
export interface StoreContractFleet {
  /** a new store, as a new instance of the service would create it */
  createStore(): CircuitBreakerStore | Promise<CircuitBreakerStore>;
  /** called after each test, once its stores are closed: release clients, servers, keys */
  dispose?(): void | Promise<void>;
}

export interface StoreContractOptions {
  /** longest time a transition may take to reach the other instances, in ms @default 100 */
  propagationMs?: number;
}

const RESET_MS = 10_000;
const NAME = 'payments';
const silentLogger = { error: () => undefined, warn: () => undefined };

/**
 * Real monotonic time that a test can move forward. A `FakeClock` standing still would not do here:
 * transitions travel between instances in real time, and a breaker compares a shared transition's
 * wall-clock time with the time since its own last change.
 */
class SteppingClock implements Clock {
  private skipped = 0;

  now(): number {
    return performance.now() + this.skipped;
  }

  advance(ms: number): void {
    this.skipped += ms;
  }
}

interface Instance {
  store: CircuitBreakerStore;
  breaker: Breaker;
  detach: () => void;
}

/**
 * The contract every `CircuitBreakerStore` must keep, as a Jest suite a third-party store
 * can run: transitions reach the other instances, the half-open lease holds fleet-wide under
 * concurrency, a new instance starts from the shared state.
 *
 * @example
 * // my-store.spec.ts
 * import { describeCircuitBreakerStoreContract } from 'nestjs-circuit-breaker/testing/store-contract';
 * describeCircuitBreakerStoreContract('MyStore', () => {
 *   const namespace = randomUUID();
 *   return { createStore: () => new MyStore({ url, namespace }), dispose: () => dropNamespace(namespace) };
 * });
 */
export function describeCircuitBreakerStoreContract(
  name: string,
  createFleet: () => StoreContractFleet | Promise<StoreContractFleet>,
  options: StoreContractOptions = {},
): void {
  const propagationMs = options.propagationMs ?? 100;

  describe(`CircuitBreakerStore contract: ${name}`, () => {
    let cleanups: (() => unknown)[] = [];

    afterEach(async () => {
      const pending = cleanups.reverse();
      cleanups = [];
      for (const cleanup of pending) await cleanup();
    });

    async function startFleet(size: number, breakerOptions: CircuitBreakerOptions = {}) {
      const fleet = await createFleet();
      cleanups.push(() => fleet.dispose?.());
      const clock = new SteppingClock();
      const join = async (): Promise<Instance> => {
        const store = await fleet.createStore();
        cleanups.push(() => store.close());
        const breaker = new Breaker(NAME, { failureThreshold: 1, resetTimeoutMs: RESET_MS, clock, ...breakerOptions }, { logger: silentLogger });
        cleanups.push(() => breaker.dispose());
        const detach = await store.attach(breaker);
        return { store, breaker, detach };
      };
      const instances: Instance[] = [];
      for (let i = 0; i < size; i++) instances.push(await join());
      return { clock, instances, join };
    }

    /** Retries `check` until it passes, for at most the propagation time (transitions travel over I/O). */
    const eventually = (check: () => unknown, ms = propagationMs) => retryUntil(check, ms);

    /**
     * Lets the wall clock reach a new millisecond. The fleet orders transitions by their wall-clock
     * time in ms (last writer wins), so an action in the same millisecond as a breaker's previous
     * change may be taken for stale news; a person or a dependency acts later than that.
     */
    async function nextMillisecond(): Promise<void> {
      const start = Date.now();
      while (Date.now() <= start + 1) await new Promise((resolve) => setTimeout(resolve, 1));
    }

    /** Waits out the propagation time: only to show that something does NOT arrive. */
    const propagationTime = () => new Promise((resolve) => setTimeout(resolve, propagationMs));

    const fail = () => Promise.reject(new Error('dependency down'));
    const ok = () => Promise.resolve('ok');

    async function trip(instance: Instance, all: Instance[]) {
      await instance.breaker.execute(fail).catch(() => undefined);
      expect(instance.breaker.state).toBe('open');
      await eventually(() => {
        for (const { breaker } of all) expect(breaker.state).toBe('open');
      });
    }

    /** Every instance half-open, `perInstance` concurrent calls each into a dependency that waits for the test. */
    async function probeStampede(perInstance: number, breakerOptions: CircuitBreakerOptions) {
      const { clock, instances } = await startFleet(3, breakerOptions);
      await trip(instances[0]!, instances);
      await nextMillisecond();
      clock.advance(RESET_MS);
      for (const { breaker } of instances) expect(breaker.state).toBe('half_open');
      let release!: (outcome: () => Promise<string>) => void;
      const gate = new Promise<() => Promise<string>>((resolve) => (release = resolve));
      const started: Breaker[] = [];
      const rejected: unknown[] = [];
      const calls: Promise<unknown>[] = [];
      for (const instance of instances) {
        const dependency = () => {
          started.push(instance.breaker);
          return gate.then((outcome) => outcome());
        };
        for (let i = 0; i < perInstance; i++) {
          calls.push(instance.breaker.execute(dependency).catch((error: unknown) => {
            rejected.push(error);
          }));
        }
      }
      // Every call is decided once it was either rejected or let through to the dependency.
      await eventually(() => expect(rejected.length + started.length).toBe(calls.length));
      await nextMillisecond();
      return { clock, instances, started, rejected, calls, release };
    }

    it('an OPEN on one instance reaches the others, with the same open period', async () => {
      const { instances } = await startFleet(3);
      const [a, b] = instances as [Instance, Instance, Instance];
      await trip(a, instances);
      let called = false;
      await expect(b.breaker.execute(() => (called = true))).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', breakerName: NAME, state: 'open' });
      expect(called).toBe(false);
      // The open period is the one that started on `a`, not a new one.
      expect(b.breaker.retryAfterMs).toBeLessThanOrEqual(RESET_MS);
      expect(b.breaker.retryAfterMs).toBeGreaterThan(RESET_MS - 5_000);
    });

    it('forced open, disabled and reset reach every instance, from any instance', async () => {
      const { instances } = await startFleet(3);
      const [a, b, c] = instances as [Instance, Instance, Instance];
      const expectAll = (state: string) => eventually(() => {
        for (const { breaker } of instances) expect(breaker.state).toBe(state);
      });

      a.breaker.forceOpen();
      await expectAll('forced_open');
      await nextMillisecond();
      b.breaker.reset();
      await expectAll('closed');
      await nextMillisecond();
      c.breaker.disable();
      await expectAll('disabled');
      await expect(a.breaker.execute(fail)).rejects.toThrow('dependency down');
      await nextMillisecond();
      a.breaker.reset();
      await expectAll('closed');
      for (const { breaker } of instances) await expect(breaker.execute(ok)).resolves.toBe('ok');
    });

    it('at most halfOpenMaxCalls probes reach the dependency across the fleet, under concurrency', async () => {
      const { started, rejected } = await probeStampede(50, { halfOpenMaxCalls: 2 });
      expect(started).toHaveLength(2);
      expect(rejected).toHaveLength(148);
      for (const error of rejected) expect(error).toMatchObject({ code: 'CIRCUIT_OPEN', state: 'half_open' });
    });

    it('one probe success closes every instance', async () => {
      const { instances, started, release, calls } = await probeStampede(20, { halfOpenMaxCalls: 1 });
      expect(started).toHaveLength(1);
      release(ok);
      await Promise.all(calls);
      expect(started[0]!.state).toBe('closed');
      await eventually(() => {
        for (const { breaker } of instances) expect(breaker.state).toBe('closed');
      });
      for (const { breaker } of instances) await expect(breaker.execute(ok)).resolves.toBe('ok');
    });

    it('a failed probe opens every instance for a new open period', async () => {
      const { clock, instances, started, release, calls } = await probeStampede(20, { halfOpenMaxCalls: 1 });
      expect(started).toHaveLength(1);
      release(fail);
      await Promise.all(calls);
      await eventually(() => {
        for (const { breaker } of instances) expect(breaker.state).toBe('open');
      });
      for (const { breaker } of instances) expect(breaker.retryAfterMs).toBeGreaterThan(RESET_MS - 5_000);
      clock.advance(RESET_MS);
      for (const { breaker } of instances) expect(breaker.state).toBe('half_open');
    });

    it('a probe whose error is ignored gives its lease back to the fleet', async () => {
      class RateLimited extends Error {}
      const { instances, started, release, calls } = await probeStampede(5, { halfOpenMaxCalls: 1, ignore: [RateLimited] });
      expect(started).toHaveLength(1);
      const other = instances.find((i) => i.breaker !== started[0])!;
      release(() => Promise.reject(new RateLimited('slow down')));
      await Promise.all(calls);
      // The lease is free again: another instance's probe gets through and closes the fleet.
      await eventually(() => other.breaker.execute(ok));
      await eventually(() => {
        for (const { breaker } of instances) expect(breaker.state).toBe('closed');
      });
    });

    it('a breaker attached later starts from the shared state', async () => {
      const { instances, join } = await startFleet(2);
      await trip(instances[0]!, instances);
      const late = await join();
      expect(late.breaker.state).toBe('open');
      expect(late.breaker.retryAfterMs).toBeGreaterThan(RESET_MS - 5_000);

      await nextMillisecond();
      instances[1]!.breaker.forceOpen();
      await eventually(() => expect(instances[0]!.breaker.state).toBe('forced_open'));
      const later = await join();
      expect(later.breaker.state).toBe('forced_open');
    });

    it('a detached breaker, or one of a closed store, neither shares nor receives', async () => {
      const { instances } = await startFleet(4);
      const [a, b, c, d] = instances as [Instance, Instance, Instance, Instance];
      a.detach();
      await b.store.close();
      await a.breaker.execute(fail).catch(() => undefined);
      await b.breaker.execute(fail).catch(() => undefined);
      await nextMillisecond();
      c.breaker.forceOpen();
      await eventually(() => expect(d.breaker.state).toBe('forced_open'));
      await propagationTime();
      expect(a.breaker.state).toBe('open');
      expect(b.breaker.state).toBe('open');
      expect(d.breaker.state).toBe('forced_open');
      await nextMillisecond();
      d.breaker.reset();
      await eventually(() => expect(c.breaker.state).toBe('closed'));
      await propagationTime();
      expect(a.breaker.state).toBe('open');
      expect(b.breaker.state).toBe('open');
    });
  });
}
