import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { type RedisServer, startRedisServer } from '../../test/support/redis-server.js';
import { Breaker } from '../core/breaker.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { eventually } from '../testing/eventually.js';
import { describeCircuitBreakerStoreContract } from '../testing/store-contract.js';
import { RedisCircuitBreakerStore } from './redis-circuit-breaker.store.js';

/**
 * How long a test waits for a transition to reach another breaker. Generous on purpose: this process shares
 * two cores with the rest of the suite. The documented 100 ms propagation is measured in test/redis/fleet.e2e-spec.ts from the
 * instances' own clocks, where scheduling noise of the test runner does not count.
 */
const PROPAGATION_DEADLINE_MS = 1_000;

const quietLogger = () => ({ log: jest.fn<(message: string) => void>(), warn: jest.fn<(message: string) => void>() });
const silent = { error: () => undefined, warn: () => undefined };

describe('RedisCircuitBreakerStore', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(() => server.stop());

  describeCircuitBreakerStoreContract('RedisCircuitBreakerStore', () => {
    // One key prefix per test: the tests share one server.
    const keyPrefix = `contract:${randomUUID()}:`;
    const clients: Redis[] = [];
    return {
      createStore: () => {
        const client = new Redis(server.port, '127.0.0.1');
        clients.push(client);
        return new RedisCircuitBreakerStore({ client, keyPrefix, logger: quietLogger() });
      },
      dispose: async () => {
        await Promise.all(clients.map((client) => client.quit()));
      },
    };
  });

  describe('with its own Redis', () => {
    const clients: Redis[] = [];
    const stores: RedisCircuitBreakerStore[] = [];
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()));
      for (const client of clients.splice(0)) if (client.status !== 'end') client.disconnect();
    });

    function instance(port: number, options: { timeoutMs?: number; startupTimeoutMs?: number } = {}, retry = true) {
      // Without retries, a client of a server that is gone ends instead of reconnecting after the test.
      const client = new Redis(port, '127.0.0.1', { lazyConnect: true, ...(retry ? {} : { retryStrategy: () => null }) });
      clients.push(client);
      const logger = quietLogger();
      const store = new RedisCircuitBreakerStore({ client, keyPrefix: 'svc:', timeoutMs: 50, logger, ...options });
      stores.push(store);
      return { client, store, logger };
    }

    it('keeps every call working when Redis dies under traffic, then shares again once it is back', async () => {
      const own = await startRedisServer();
      try {
        const a = instance(own.port);
        const b = instance(own.port);
        const options = { failureThreshold: 3, resetTimeoutMs: 100 };
        const breakerA = new Breaker('payments', options, { logger: silent });
        const breakerB = new Breaker('payments', options, { logger: silent });
        await a.store.attach(breakerA);
        await b.store.attach(breakerB);
        const changes: string[] = [];
        breakerA.on('stateChange', ({ from, to }) => changes.push(`${from}>${to}`));

        const slowest = { ms: 0 };
        const unexpected: unknown[] = [];
        const call = async (dependency: () => Promise<string>) => {
          const started = performance.now();
          try {
            await breakerA.execute(dependency);
          } catch (error) {
            const expected = (error as Error).message === 'dependency down' || (error as { code?: string }).code === 'CIRCUIT_OPEN';
            if (!expected) unexpected.push(error);
          }
          slowest.ms = Math.max(slowest.ms, performance.now() - started);
        };
        const ok = () => Promise.resolve('ok');
        const down = () => Promise.reject(new Error('dependency down'));

        for (let i = 0; i < 3; i++) await call(ok);
        const killed = own.kill();
        await call(ok); // in flight while Redis dies
        await killed;
        for (let i = 0; i < 3; i++) await call(down);
        expect(breakerA.state).toBe('open');
        await call(ok); // rejected locally
        await eventually(async () => {
          await call(ok);
          expect(breakerA.state).toBe('closed');
        }, 2_000);

        expect(unexpected).toEqual([]);
        // A call never waits on the store longer than timeoutMs (the dependency itself answers at once).
        expect(slowest.ms).toBeLessThan(50 + 25);
        // Opened, probed and closed on local state alone.
        expect(changes).toEqual(['closed>open', 'open>half_open', 'half_open>closed']);
        // The line waits for the reconnection's error to name the cause (the killed server closed cleanly).
        await eventually(() => expect(a.logger.warn).toHaveBeenCalledTimes(1), 2_000);
        expect(a.logger.warn.mock.calls[0]![0]).toMatch(/^Circuit breaker store \(redis\) unavailable: connection lost \(ECONNREFUSED\)\. /);
        expect(breakerB.state).toBe('closed');

        // Made during the outage, shared once Redis is back.
        breakerB.disable();
        await own.restart();
        await eventually(() => {
          expect(a.logger.log).toHaveBeenCalledTimes(1);
          expect(b.logger.log).toHaveBeenCalledTimes(1);
        }, 5_000);
        expect(a.logger.log.mock.calls[0]![0]).toMatch(/^Circuit breaker store \(redis\) available again/);
        await eventually(() => expect(breakerA.state).toBe('disabled'), PROPAGATION_DEADLINE_MS);

            breakerA.forceOpen();
        await eventually(() => expect(breakerB.state).toBe('forced_open'), PROPAGATION_DEADLINE_MS);
        expect(a.logger.warn).toHaveBeenCalledTimes(1);
        expect(b.logger.warn).toHaveBeenCalledTimes(1);
        await Promise.all([a.store.close(), b.store.close()]);
        await Promise.all([a.client.quit(), b.client.quit()]);
      } finally {
        await own.stop();
      }
    });

    it('admits a probe under the local limit when Redis does not grant the lease within timeoutMs, and logs it', async () => {
      const a = instance(server.port);
      const blocker = new Redis(server.port, '127.0.0.1');
      clients.push(blocker);
      const breaker = new Breaker('slow-lease', { failureThreshold: 1, resetTimeoutMs: 1 }, { logger: silent });
      await a.store.attach(breaker);
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
      await eventually(() => expect(breaker.state).toBe('half_open'), 1_000);

      // Redis busy for 300 ms (a long script blocks every client).
      const busy = blocker.eval("local t = redis.call('TIME'); local s = t[1] * 1000 + t[2] / 1000; repeat t = redis.call('TIME') until t[1] * 1000 + t[2] / 1000 - s >= 300; return 1", 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const started = performance.now();
      await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
      expect(performance.now() - started).toBeLessThan(50 + 25);
      expect(breaker.state).toBe('closed');
      expect(a.logger.warn).toHaveBeenCalledTimes(1);
      expect(a.logger.warn.mock.calls[0]![0]).toContain("the half-open lease of 'slow-lease' got no answer within 50 ms");
      await busy;
    });

    it('starts on local state after startupTimeoutMs when Redis is not there, logging once', async () => {
      const gone = await startRedisServer();
      await gone.stop();
      const a = instance(gone.port, { startupTimeoutMs: 100 }, false);
      const breaker = new Breaker('payments', {}, { logger: silent });
      const started = performance.now();
      await a.store.attach(breaker);
      expect(performance.now() - started).toBeLessThan(100 + 100);
      expect(breaker.state).toBe('closed');
      breaker.forceOpen(); // works locally
      expect(breaker.state).toBe('forced_open');
      expect(a.logger.warn).toHaveBeenCalledTimes(1);
      expect(a.logger.warn.mock.calls[0]![0]).toMatch(/^Circuit breaker store \(redis\) unavailable: (connection lost \(ECONNREFUSED\)|no connection within 100 ms at start-up \(timeout\))\. /);
    });

    it('closes its own subscriber connection, never the client it was given', async () => {
      const a = instance(server.port);
      await a.store.attach(new Breaker('payments', {}, { logger: silent }));
      await a.store.close();
      expect(a.client.status).toBe('ready');
      await expect(a.client.ping()).resolves.toBe('PONG');
    });
  });

  it('names a bad option without echoing secrets', () => {
    let error: unknown;
    try {
      new RedisCircuitBreakerStore({ client: { host: 'db', password: 's3cret' }, keyPrefix: 7, timeoutMs: -1, url: 'redis://admin:s3cret@db' } as never);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    const message = (error as Error).message;
    expect(message).toContain('client: expected an ioredis client (`new Redis(...)` from ioredis ^5 or ^6), received "[Object object]"');
    expect(message).toContain('keyPrefix: expected a string, received 7');
    expect(message).toContain('timeoutMs: expected a duration in ms: a finite number > 0, received -1');
    expect(message).toContain('url: unknown option');
    expect(message).not.toContain('s3cret');
  });
});
