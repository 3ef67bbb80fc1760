import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Breaker } from '../../lib/core/index.js';
import { RedisCircuitBreakerStore } from '../../lib/redis/index.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { type Freezer, freezer } from './freeze.js';

// Three instances of a service (three stores, three clients, one breaker each) share one real
// redis-server, which is stopped (SIGSTOP) for 5 s under traffic and then resumed (SIGCONT). The
// half-open leases requested during the freeze time out locally but are still granted by Redis once
// it runs again: each must be given back, or the fleet is refused every probe until the lease expires.

const RESET_TIMEOUT_MS = 1_000;
const HALF_OPEN_TIMEOUT_MS = 30_000; // long on purpose: an orphaned lease would block the fleet this long
const FREEZE_MS = 5_000;
const TRAFFIC_EVERY_MS = 20;

const silent = { log: () => undefined, warn: () => undefined };
const silentBreaker = { error: () => undefined, warn: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a Redis freeze under traffic on 3 instances', () => {
  let server: RedisServer;
  let redis: Freezer;
  const clients: Redis[] = [];
  const stores: RedisCircuitBreakerStore[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    redis = freezer(server);
  });
  afterAll(() => server.stop());
  afterEach(async () => {
    redis.thaw();
    await Promise.all(stores.splice(0).map((store) => store.close()));
    clients.splice(0).forEach((client) => client.disconnect());
  });

  async function fleet(keyPrefix: string) {
    const breakers: Breaker[] = [];
    for (let i = 0; i < 3; i++) {
      const client = new Redis(server.port, '127.0.0.1', { lazyConnect: false });
      clients.push(client);
      const store = new RedisCircuitBreakerStore({ client, keyPrefix, logger: silent });
      stores.push(store);
      const breaker = new Breaker('catalog', {
        failureThreshold: 1,
        resetTimeoutMs: RESET_TIMEOUT_MS,
        halfOpenTimeoutMs: HALF_OPEN_TIMEOUT_MS,
        halfOpenMaxCalls: 1,
      }, { logger: silentBreaker });
      await store.attach(breaker);
      breakers.push(breaker);
    }
    return breakers;
  }

  it(`after SIGCONT a probe passes and every instance closes within resetTimeoutMs + 2 s`, async () => {
    const keyPrefix = `freeze-${randomUUID()}:`;
    const breakers = await fleet(keyPrefix);
    let healthy = false;
    const downstream = async () => {
      if (!healthy) throw new Error('catalog down');
      return 'ok';
    };
    let running = true;
    const traffic = breakers.map(async (breaker) => {
      while (running) {
        await breaker.execute(downstream).catch(() => undefined);
        await sleep(TRAFFIC_EVERY_MS);
      }
    });

    try {
      await sleep(200); // open everywhere, shared through Redis
      expect(breakers.map((b) => b.state)).toEqual(['open', 'open', 'open']);

      redis.freeze();
      await sleep(FREEZE_MS); // every instance keeps probing locally, failing, reopening
      healthy = true; // the downstream recovered while Redis was frozen
      redis.thaw();
      const thawedAt = performance.now();

      let closedAfterMs = Infinity;
      while (performance.now() - thawedAt < RESET_TIMEOUT_MS + 2_000 + 1_000) {
        if (breakers.every((b) => b.state === 'closed')) {
          closedAfterMs = performance.now() - thawedAt;
          break;
        }
        await sleep(10);
      }
      process.stdout.write(`freeze: every instance closed ${Math.round(closedAfterMs)} ms after SIGCONT\n`);
      expect(closedAfterMs).toBeLessThanOrEqual(RESET_TIMEOUT_MS + 2_000);
      // Nothing is left held in Redis: the next open period can be probed at once.
      expect(await clients[0]!.zcard(`${keyPrefix}{catalog}:leases`)).toBe(0);
    } finally {
      running = false;
      await Promise.all(traffic);
    }
  }, 30_000);

  it('a lease Redis grants after its request timed out is given back', async () => {
    const keyPrefix = `late-${randomUUID()}:`;
    const [a, b] = await fleet(keyPrefix);
    await a!.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await sleep(RESET_TIMEOUT_MS + 50);

    redis.freeze();
    // The lease request gets no answer within the store's timeoutMs: the probe runs locally, and hangs.
    void a!.execute(() => new Promise<string>(() => undefined)).catch(() => undefined);
    await sleep(200);
    redis.thaw(); // Redis now runs the queued request: the lease is granted, then given back
    await sleep(100);
    expect(await clients[0]!.zcard(`${keyPrefix}{catalog}:leases`)).toBe(0);
    // Another instance gets the fleet's lease at once instead of a refusal for halfOpenTimeoutMs.
    await expect(b!.execute(async () => 'ok')).resolves.toBe('ok');
    expect(b!.state).toBe('closed');
  });
});
