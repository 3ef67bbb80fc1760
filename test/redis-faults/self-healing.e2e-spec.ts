import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Breaker } from '../../lib/core/index.js';
import { RedisCircuitBreakerStore, type RedisCircuitBreakerStoreOptions } from '../../lib/redis/index.js';
import { eventually } from '../../lib/testing/eventually.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { captureStoreLog } from '../support/store-log.js';

// A store that heals itself, against a real redis-server: a first SUBSCRIBE that fails is retried
// until broadcasts arrive; a FLUSHALL is noticed and the state written back; a key of the wrong type
// costs one log line and a bounded rate of commands.

const silentBreaker = { error: () => undefined, warn: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const capture = captureStoreLog;

describe('a Redis store that heals itself (real redis-server)', () => {
  let server: RedisServer;
  let admin: Redis;
  const clients: Redis[] = [];
  const stores: RedisCircuitBreakerStore[] = [];

  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.port, '127.0.0.1');
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    clients.splice(0).forEach((client) => client.disconnect());
  });

  async function instance(keyPrefix: string, options: Partial<RedisCircuitBreakerStoreOptions> = {}, clientOptions: Record<string, unknown> = {}) {
    const client = new Redis(server.port, '127.0.0.1', clientOptions);
    clients.push(client);
    const logger = capture();
    const store = new RedisCircuitBreakerStore({ client, keyPrefix, logger, ...options });
    stores.push(store);
    const breaker = new Breaker('payments', { failureThreshold: 1, resetTimeoutMs: 60_000 }, { logger: silentBreaker });
    await store.attach(breaker);
    return { client, store, breaker, logger };
  }

  it('a first SUBSCRIBE that fails is retried until broadcasts arrive', async () => {
    const keyPrefix = `sub-${randomUUID()}:`;
    // Without an offline queue, a SUBSCRIBE sent before the connection is up fails at once.
    const a = await instance(keyPrefix, { startupTimeoutMs: 3_000 }, { enableOfflineQueue: false });
    const b = await instance(keyPrefix);
    b.breaker.forceOpen();
    await eventually(() => expect(a.breaker.state).toBe('forced_open'), 3_000);
    // It did fail first (said once), and was retried.
    expect(a.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([expect.stringContaining('subscribing to broadcasts failed')]);
  });

  it('FLUSHALL while running is noticed and the state written back within a few seconds', async () => {
    const keyPrefix = `flush-${randomUUID()}:`;
    const a = await instance(keyPrefix);
    a.breaker.forceOpen();
    const key = `${keyPrefix}{payments}:state`;
    await eventually(async () => expect(await admin.get(key)).toContain('forced_open'), 1_000);

    const flushedAt = performance.now();
    await admin.flushall();
    await eventually(async () => expect(await admin.get(key)).toContain('forced_open'), 5_000);
    const rewrittenMs = performance.now() - flushedAt;
    process.stdout.write(`flush: state written back ${Math.round(rewrittenMs)} ms after FLUSHALL\n`);
    expect(rewrittenMs).toBeLessThanOrEqual(3_000); // the heartbeat runs every 2 s

    // A new instance boots into the operator's force-open, not closed.
    const late = await instance(keyPrefix);
    expect(late.breaker.state).toBe('forced_open');
    expect(a.logger.lines.some((l) => l.level === 'warn' && /shared data is gone/.test(l.message))).toBe(true);
  });

  it('a key of the wrong type costs one log line naming it and a bounded rate of commands', async () => {
    const keyPrefix = `wrongtype-${randomUUID()}:`;
    const key = `${keyPrefix}{payments}:state`;
    await admin.rpush(key, 'not a transition');
    const a = await instance(keyPrefix);
    const processed = async () => Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))![1]);

    const before = await processed();
    for (let i = 0; i < 50; i++) {
      a.breaker.forceOpen();
      a.breaker.reset();
      await sleep(60);
    }
    const after = await processed();
    const commandsPerSecond = (after - before - 1) / 3; // minus the INFO itself; 3 s of transitions
    process.stdout.write(`wrongtype: ${after - before - 1} commands in 3 s with one WRONGTYPE key\n`);
    expect(commandsPerSecond).toBeLessThanOrEqual(2);
    const warnings = a.logger.lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('WRONGTYPE');
    expect(warnings[0]!.message).toContain(key);
    // The breaker keeps working on local state.
    expect(a.breaker.state).toBe('closed');
  });
});
