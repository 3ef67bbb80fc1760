import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { buildSampleApp, startSampleApp } from '../support/sample-app-process.js';
import { type Freezer, freezer } from './freeze.js';

// The sample app's shutdown, the pattern the README recommends (store.close(), then quitWithin(client,
// 1000)), with Redis frozen (SIGSTOP): SIGTERM must end the process within the bound, not wait for
// Redis. The sample runs on the built package (`npm test` builds it first).

/** closeTimeoutMs (1 s) + quitWithin (1 s) are the bounds; the rest is Nest's shutdown and a loaded CI machine. */
const EXIT_BOUND_MS = 4_000;

describe('SIGTERM while Redis is frozen (sample app on a real redis-server)', () => {
  let server: RedisServer;
  let redis: Freezer;
  let main: string;
  beforeAll(async () => {
    [server, main] = await Promise.all([startRedisServer(), buildSampleApp('sigterm-sample-app')]);
    redis = freezer(server);
  }, 60_000);
  afterAll(async () => {
    redis?.thaw();
    await server?.stop();
  });

  it('exits within the bound, having logged nothing but its shutdown', async () => {
    const app = await startSampleApp(main, { REDIS_URL: server.url });
    try {
      // Redis answers: a request goes through a breaker with the shared store while Redis is up.
      expect((await fetch(`${app.baseUrl}/products/1`)).status).toBe(200);

      redis.freeze();
      const started = performance.now();
      await app.stop();
      const tookMs = performance.now() - started;
      console.log(`SIGTERM during a freeze: exited ${Math.round(tookMs)} ms after the signal`);
      expect(tookMs).toBeLessThan(EXIT_BOUND_MS);
      expect(app.output()).not.toMatch(/Unhandled error event|UnhandledPromiseRejection/);
    } finally {
      redis.thaw();
      await app.stop();
    }
  }, 30_000);
});
