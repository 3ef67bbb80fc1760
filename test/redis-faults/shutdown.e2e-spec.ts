import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Breaker } from '../../lib/core/breaker.js';
import { quitWithin, RedisCircuitBreakerStore } from '../../lib/redis/index.js';
import { eventually } from '../../lib/testing/eventually.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { type Freezer, freezer } from './freeze.js';

const quiet = { log: () => undefined, warn: () => undefined };
const silent = { error: () => undefined, warn: () => undefined };
const SLACK_MS = 150; // scheduling noise on a shared 2-core machine

describe('shutdown while Redis is frozen (real redis-server, SIGSTOP)', () => {
  let server: RedisServer;
  let redis: Freezer;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedisServer();
    redis = freezer(server);
  });
  afterEach(() => {
    redis.thaw();
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    redis.thaw();
    await server.stop();
  });

  async function connected(): Promise<Redis> {
    const client = new Redis(server.port, '127.0.0.1');
    client.on('error', () => undefined);
    clients.push(client);
    await client.ping();
    return client;
  }

  it('store.close() then quitWithin(client, 1000) return within the bound; the client is ended', async () => {
    const client = await connected();
    const store = new RedisCircuitBreakerStore({ client, keyPrefix: 'shutdown:', logger: quiet });
    await store.attach(new Breaker('payments', {}, { logger: silent }));
    redis.freeze();
    const started = performance.now();
    await store.close();
    const closedMs = performance.now() - started;
    await quitWithin(client, 1_000);
    const totalMs = performance.now() - started;
    process.stdout.write(`shutdown during a freeze: store.close() ${Math.round(closedMs)} ms, + quitWithin ${Math.round(totalMs)} ms\n`);
    expect(closedMs).toBeLessThan(1_000 + SLACK_MS);
    expect(totalMs).toBeLessThan(2_000 + SLACK_MS);
    // QUIT got no answer from the frozen server: the connection was dropped at the bound, not before.
    expect(totalMs - closedMs).toBeGreaterThanOrEqual(1_000 - 5);
    await eventually(() => expect(client.status).toBe('end'), 100);
  });

  it('quitWithin on a healthy server quits at once; on a client that is not connected it drops it', async () => {
    const client = await connected();
    const started = performance.now();
    await quitWithin(client);
    expect(performance.now() - started).toBeLessThan(200);
    await eventually(() => expect(client.status).toBe('end'), 100);
    const lazy = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
    clients.push(lazy);
    await quitWithin(lazy);
    await eventually(() => expect(lazy.status).toBe('end'), 100);
    await expect(quitWithin(lazy, -1)).rejects.toThrow('quitWithin: timeoutMs -1 is not valid; expected a duration in ms: a finite number >= 0');
  });
});
