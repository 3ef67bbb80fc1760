import type { Cluster, Redis } from 'ioredis';
import { type ConfigProblem, safeOptionValue, type SharedTransition } from '../core/index.js';
import {
  checkStoreOptions,
  decodeStoreMessage,
  decodeTransition,
  encodeStoreMessage,
  encodeTransition,
  SharedStateStore,
  type SharedStateStoreOptions,
  type SharedStoreMessage,
} from '../store/index.js';
import { STORE_EVENTS } from '../store/store.messages.js';
import { REDIS_EXPECTED } from './redis.messages.js';
import { LEASE_SCRIPT, MARKER_SCRIPT, RELEASE_SCRIPT, type RedisScript, WRITE_SCRIPT } from './redis.scripts.js';

/** Options of `RedisCircuitBreakerStore`. */
export interface RedisCircuitBreakerStoreOptions extends SharedStateStoreOptions {
  /**
   * An ioredis client (ioredis ^5 or ^6), a single node (`Redis`) or a `Cluster`. It stays yours: the
   * store duplicates it once for its pub/sub connection (which it closes on `close()`) and never quits it.
   * It listens for its `error` events, which name the cause in its log lines (so ioredis does not print
   * them as unhandled either).
   */
  client: Redis | Cluster;
  /** Prefix of every key and of the channel, to keep services (or environments) apart. @default 'circuit-breaker:' */
  keyPrefix?: string;
}

const DEFAULT_KEY_PREFIX = 'circuit-breaker:';

/**
 * Shares breaker state across every instance of a service through Redis (README "Redis"): pass it as the
 * module's `store` option.
 *
 * - each breaker's last transition in a key (`<prefix>{<name>}:state`) that expires when an open
 *   period ends (plus the half-open timeout), so a new instance starts from the fleet's state;
 * - transitions broadcast on `<prefix>transitions` through a duplicated subscriber connection;
 * - the half-open leases (`<prefix>{<name>}:leases`, a sorted set of one token per grant) taken
 *   atomically by a Lua script, each expiring after `halfOpenTimeoutMs`, given back by its token
 *   whatever the local outcome, cleared by every shared transition;
 * - every operation bounded by `timeoutMs`; without Redis, breakers run on local state (logged once)
 *   and resynchronise when it is back (last writer wins by time of the transition).
 *
 * @example
 * import Redis from 'ioredis';
 * import { RedisCircuitBreakerStore } from 'nestjs-circuit-breaker/redis';
 *
 * CircuitBreakerModule.forRoot({
 *   store: new RedisCircuitBreakerStore({ client: new Redis(process.env.REDIS_URL!), keyPrefix: 'orders:cb:' }),
 * });
 */
export class RedisCircuitBreakerStore extends SharedStateStore {
  private readonly client: Redis | Cluster;
  private readonly keyPrefix: string;
  private readonly channel: string;
  private subscriber: Redis | Cluster | null = null;
  /** the last connection error since the last `ready`, to name the cause in the log line */
  private lastError: unknown = null;
  /** whether the subscriber's SUBSCRIBE succeeded (ioredis re-subscribes by itself after that) */
  private subscribed = false;

  constructor(options: RedisCircuitBreakerStoreOptions) {
    const o = checkStoreOptions<RedisCircuitBreakerStoreOptions>(options, ['client', 'keyPrefix'], redisOptionProblems);
    super('redis', o);
    this.client = o.client;
    this.keyPrefix = o.keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.channel = `${this.keyPrefix}transitions`;
  }

  protected async connect(): Promise<void> {
    const client = this.client;
    client.on('close', this.onClose);
    client.on('ready', this.onReady);
    // Its errors name the cause of an outage (WRONGPASS after a password rotation). And without an
    // 'error' listener ioredis prints every connection error as unhandled, with a stack.
    client.on('error', this.onError);
    // A lazyConnect client would otherwise wait for a first command that never comes (operations need `ready`).
    if (client.status === 'wait') client.connect().catch(() => undefined);
    // Both kinds duplicate themselves with no arguments (a Cluster into a Cluster of the same nodes).
    const subscriber: Redis | Cluster = (client as Redis).duplicate();
    this.subscriber = subscriber;
    subscriber.on('error', this.onError);
    subscriber.on('close', this.onClose);
    subscriber.on('ready', this.onReady);
    subscriber.on('message', this.onMessage);
    await this.subscribeUntilDone(subscriber);
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  }

  protected async disconnect(): Promise<void> {
    this.client.off('close', this.onClose);
    this.client.off('ready', this.onReady);
    // The client stays yours: it keeps this listener only when it has no other (no unhandled errors after close).
    if (this.client.listenerCount('error') > 1) this.client.off('error', this.onError);
    const subscriber = this.subscriber;
    this.subscriber = null;
    this.subscribed = false;
    // Its 'error' listener stays: a late connection error must not surface as unhandled.
    subscriber?.off('close', this.onClose);
    subscriber?.off('ready', this.onReady);
    subscriber?.off('message', this.onMessage);
    // An ended connection has nothing to close (ioredis would still arm a 2 s timer for it).
    if (subscriber !== null && subscriber.status !== 'end') subscriber.disconnect();
  }

  protected override isConnected(): boolean {
    return this.subscribed && this.client.status === 'ready' && this.subscriber?.status === 'ready';
  }

  /**
   * SUBSCRIBE, retried with a growing pause (up to 5 s) until it succeeds: a first one that fails
   * (Redis down at boot, `enableOfflineQueue: false`, `maxRetriesPerRequest`) would otherwise leave the
   * store without broadcasts for good. Until then the store is not connected.
   */
  private async subscribeUntilDone(subscriber: Redis | Cluster): Promise<void> {
    for (let pauseMs = 100; this.subscriber === subscriber; pauseMs = Math.min(pauseMs * 2, 5_000)) {
      try {
        await subscriber.subscribe(this.channel);
        if (this.subscriber !== subscriber) return;
        this.subscribed = true;
        this.onReady();
        return;
      } catch (error) {
        this.lastError = error;
        this.connectionLost(STORE_EVENTS.notSubscribed, error);
        await new Promise((resolve) => setTimeout(resolve, pauseMs).unref?.());
      }
    }
  }

  protected override async checkMarker(proposal: string): Promise<string> {
    return String(await this.run(MARKER_SCRIPT, [`${this.keyPrefix}marker`], [proposal]));
  }

  protected override describeKeys(name: string): string {
    return `${this.key(name, 'state')} / ${this.key(name, 'leases')}`;
  }

  protected async read(name: string): Promise<SharedTransition | null> {
    const text = await this.client.get(this.key(name, 'state'));
    return text === null ? null : decodeTransition(text);
  }

  protected async write(name: string, transition: SharedTransition, ttlMs: number | null, message: SharedStoreMessage): Promise<SharedTransition | null> {
    const newer = await this.run(WRITE_SCRIPT, [this.key(name, 'state'), this.key(name, 'leases')], [
      encodeTransition(transition),
      transition.at,
      ttlMs === null ? '' : Math.max(1, Math.ceil(ttlMs)),
      this.channel,
      encodeStoreMessage(message),
    ]);
    return typeof newer === 'string' ? decodeTransition(newer) : null;
  }

  protected async acquireLease(name: string, token: string, limit: number, ttlMs: number): Promise<boolean> {
    return (await this.run(LEASE_SCRIPT, [this.key(name, 'leases')], [token, limit, Math.max(1, Math.ceil(ttlMs))])) === 1;
  }

  protected async releaseLease(name: string, token: string): Promise<void> {
    await this.run(RELEASE_SCRIPT, [this.key(name, 'leases')], [token]);
  }

  /** The braces make both keys of a breaker one Redis Cluster hash slot, as its scripts need. */
  private key(name: string, kind: 'state' | 'leases'): string {
    return `${this.keyPrefix}{${name}}:${kind}`;
  }

  private async run(script: RedisScript, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String((error as Error | null)?.message).startsWith('NOSCRIPT')) throw error;
      return this.client.eval(script.source, keys.length, ...keys, ...args);
    }
  }

  private readonly onClose = (): void => {
    // No error since the last `ready` (the server closed it): the next attempt's error will name the cause.
    this.connectionLost(STORE_EVENTS.connectionLost, this.lastError);
  };

  private readonly onReady = (): void => {
    if (this.isConnected()) {
      this.lastError = null;
      this.reconnected();
    }
  };

  private readonly onError = (error: unknown): void => {
    this.lastError = error;
  };

  private readonly onMessage = (channel: string, text: string): void => {
    if (channel !== this.channel) return;
    const message = decodeStoreMessage(text);
    if (message !== null) this.receive(message);
  };
}

function redisOptionProblems({ client, keyPrefix }: Record<string, unknown>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const c = client as Partial<Record<'duplicate' | 'evalsha' | 'eval' | 'get' | 'on', unknown>> | null | undefined;
  if (c === null || typeof c !== 'object' || ['duplicate', 'evalsha', 'eval', 'get', 'on'].some((m) => typeof c[m as keyof typeof c] !== 'function')) {
    problems.push({ path: 'client', expected: REDIS_EXPECTED.client, value: safeOptionValue(client) });
  }
  if (keyPrefix !== undefined && typeof keyPrefix !== 'string') problems.push({ path: 'keyPrefix', expected: REDIS_EXPECTED.keyPrefix, value: keyPrefix });
  return problems;
}
