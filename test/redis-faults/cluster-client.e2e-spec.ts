import { describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { RedisCircuitBreakerStore, type RedisCircuitBreakerStoreOptions } from '../../lib/redis/index.js';

// `npx tsc --noEmit` checks this file too: a `Cluster` is a valid `client` in TypeScript, as at runtime.
describe('RedisCircuitBreakerStore client types', () => {
  it('accepts an ioredis Cluster as well as a single-node client (no connection made)', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const single = new Redis(1, '127.0.0.1', { lazyConnect: true });
    const options: RedisCircuitBreakerStoreOptions[] = [{ client: cluster, keyPrefix: 'orders:cb:' }, { client: single }];
    const stores = options.map((o) => new RedisCircuitBreakerStore(o));
    expect(stores.every((store) => store instanceof RedisCircuitBreakerStore)).toBe(true);
    // Never attached: closing opens nothing and leaves the clients as they were.
    await Promise.all(stores.map((store) => store.close()));
    expect([cluster.status, single.status]).toEqual(['wait', 'wait']);
    cluster.disconnect();
    single.disconnect();
  });
});
