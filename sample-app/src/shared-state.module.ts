import { Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { CircuitBreakerStore } from 'nestjs-circuit-breaker';
import { quitWithin, RedisCircuitBreakerStore } from 'nestjs-circuit-breaker/redis';

/**
 * `REDIS_URL` (e.g. `redis://127.0.0.1:6379`), when set: the Redis where the instances of the sample
 * share their breakers' state. Unset: every instance keeps its own.
 */
export function redisUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.REDIS_URL?.trim();
  if (!raw) return undefined;
  if (!/^rediss?:\/\/./.test(raw)) {
    const shown = raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/\s]*@/i, '$1***@'); // never print a password
    throw new Error(`REDIS_URL=${JSON.stringify(shown)}: expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379`);
  }
  return raw;
}

/**
 * This instance's connection to the fleet's shared state: with `REDIS_URL`, one ioredis client and the
 * `RedisCircuitBreakerStore` built on it (given to the module as `store`); without it, no store.
 * The client is ours, so we close it at shutdown, after the store that uses it.
 */
@Injectable()
export class SharedBreakerState implements OnApplicationShutdown {
  readonly store: CircuitBreakerStore | undefined;
  private readonly client: Redis | undefined;

  constructor() {
    const url = redisUrl(process.env);
    if (url === undefined) return;
    this.client = new Redis(url);
    // The store logs losing Redis once and regaining it once; ioredis alone would log every retry.
    this.client.on('error', () => undefined);
    this.store = new RedisCircuitBreakerStore({
      client: this.client,
      keyPrefix: 'sample-app:circuit-breaker:',
      logger: new Logger('CircuitBreakerStore'),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    // The circuit breaker module closes the store too (a second close does nothing), but it is global,
    // so its shutdown hook runs after ours: quitting the client first can log a lost connection.
    // Both are bounded (1 s each by default) whatever Redis does: a frozen server cannot hold up the exit.
    await this.store?.close();
    if (this.client !== undefined) await quitWithin(this.client, 1_000);
  }
}

@Module({ providers: [SharedBreakerState], exports: [SharedBreakerState] })
export class SharedStateModule {}
