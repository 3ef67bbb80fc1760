import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Breaker } from '../../lib/core/breaker.js';
import { RedisCircuitBreakerStore } from '../../lib/redis/index.js';
import { eventually } from '../../lib/testing/eventually.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';

const silent = { error: () => undefined, warn: () => undefined };
const quiet = { log: () => undefined, warn: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const RESET_TIMEOUT_MS = 1_000;
const OPTIONS = { failureThreshold: 3, resetTimeoutMs: RESET_TIMEOUT_MS, halfOpenTimeoutMs: 30_000, halfOpenMaxCalls: 1 };

describe('half-open leases when the breaker moves on or loses the race (real redis-server)', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const stores: RedisCircuitBreakerStore[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    await server.stop();
  });

  function instance(keyPrefix: string): { client: Redis; store: RedisCircuitBreakerStore; breaker: Breaker } {
    const client = new Redis(server.port, '127.0.0.1');
    clients.push(client);
    const store = new RedisCircuitBreakerStore({ client, keyPrefix, timeoutMs: 50, logger: quiet });
    stores.push(store);
    return { client, store, breaker: new Breaker('route', OPTIONS, { logger: silent }) };
  }

  function observer(): Redis {
    const client = new Redis(server.port, '127.0.0.1');
    clients.push(client);
    return client;
  }

  it('a lease granted after the breaker moved on is released', async () => {
    const { store, breaker } = instance('moved:');
    await store.attach(breaker);
    for (let i = 0; i < 3; i++) await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await eventually(() => expect(breaker.state).toBe('half_open'), RESET_TIMEOUT_MS + 1_000);

    const redis = observer();
    await redis.ping();
    // Redis busy for 30 ms, below the store's timeout: the grant comes late but in time.
    const busy = redis.eval("local t = redis.call('TIME'); local s = t[1] * 1000 + t[2] / 1000; repeat t = redis.call('TIME') until t[1] * 1000 + t[2] / 1000 - s >= 30; return 1", 0);
    await sleep(2);
    const probe = breaker.execute(() => Promise.resolve('ok'));
    breaker.forceOpen(); // the state moves on while the lease is asked for
    await busy;
    await probe.catch(() => undefined);
    breaker.reset();
    await eventually(async () => expect(await redis.zcard('moved:{route}:leases')).toBe(0), 1_000);
    const check = observer();
    expect(await check.exists('moved:{route}:leases')).toBe(0);
  });
  it('a transition that loses the race (the stored one is newer) still gives back the leases held here', async () => {
    const { store, breaker } = instance('lost:');
    await store.attach(breaker);
    for (let i = 0; i < 3; i++) await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await eventually(() => expect(breaker.state).toBe('half_open'), RESET_TIMEOUT_MS + 1_000);

    const redis = observer();
    let settle!: () => void;
    const probe = breaker.execute(() => new Promise<string>((resolve) => (settle = () => resolve('ok'))));
    await eventually(async () => expect(await redis.zcard('lost:{route}:leases')).toBe(1), 1_000);
    // Another instance (its clock a minute ahead) wrote a newer transition without our hearing of it.
    const at = Date.now() + 60_000;
    await redis.set('lost:{route}:state', JSON.stringify({ state: 'open', openUntil: at + 1_000, reason: 'elsewhere', at }));
    settle();
    await probe;
    // Our `closed` lost to the newer `open`, which this instance now applies ...
    await eventually(() => expect(breaker.state).toBe('open'), 1_000);
    // ... and the lease of the probe that decided it is not left to block the fleet until it expires.
    await eventually(async () => expect(await redis.zcard('lost:{route}:leases')).toBe(0), 1_000);
  });
});
