import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Redis, type RedisOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Breaker } from '../../lib/core/index.js';
import { RedisCircuitBreakerStore } from '../../lib/redis/index.js';
import { eventually } from '../../lib/testing/eventually.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { freezer } from './freeze.js';
import { captureStoreLog } from '../support/store-log.js';

// Every line a store logs about an outage names its cause (a Redis reply's first word and
// text, an error code, the store's timeout), once per outage, and never a password. Against real
// redis-server processes: a password rotation (WRONGPASS), a server turned replica (READONLY) and a
// frozen server (SIGSTOP: the store's timeoutMs).

const TIMEOUT_MS = 50;
const silentBreaker = { error: () => undefined, warn: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const capture = captureStoreLog;

describe('store diagnostics: each outage line names its cause, once (real redis-server)', () => {
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];
  const stores: RedisCircuitBreakerStore[] = [];
  let consoleError: jest.Spied<typeof console.error>;
  const thaws: (() => void)[] = [];

  beforeEach(() => {
    // ioredis prints "[ioredis] Unhandled error event" through console.error for a client without an 'error' listener.
    consoleError = jest.spyOn(console, 'error');
  });
  afterEach(async () => {
    thaws.splice(0).forEach((thaw) => thaw());
    await Promise.all(stores.splice(0).map((store) => store.close()));
    clients.splice(0).forEach((client) => client.disconnect());
    await Promise.all(servers.splice(0).map((server) => server.stop()));
    consoleError.mockRestore();
  });

  async function server(): Promise<RedisServer> {
    const started = await startRedisServer();
    servers.push(started);
    return started;
  }

  /** One admin command on a connection of its own (CLIENT KILL ends the others). */
  async function admin(port: number, password: string | undefined, ...command: string[]): Promise<unknown> {
    const connection = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, retryStrategy: () => null });
    connection.on('error', () => undefined);
    try {
      await connection.connect();
      return await connection.call(command[0]!, ...command.slice(1));
    } finally {
      connection.disconnect();
    }
  }

  /**
   * A store on `port` as the docs set it up: the client has no 'error' listener of its own. It
   * reconnects every 50 ms, so that a cause repeated on every attempt would show as repeated lines.
   */
  async function instance(port: number, clientOptions: RedisOptions = {}) {
    const client = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50, ...clientOptions });
    clients.push(client);
    const logger = capture();
    const store = new RedisCircuitBreakerStore({ client, keyPrefix: `diagnostics-${randomUUID()}:`, logger, timeoutMs: TIMEOUT_MS });
    stores.push(store);
    const breaker = new Breaker('payments', { failureThreshold: 1, resetTimeoutMs: 60_000 }, { logger: silentBreaker });
    await store.attach(breaker);
    return { client, store, breaker, logger };
  }

  function unhandledErrorPrints(): string[] {
    return consoleError.mock.calls.map((args) => args.map(String).join(' ')).filter((text) => text.includes('Unhandled error event'));
  }

  it('a password rotation logs one line naming WRONGPASS, never a password, and one "available again" once the password works', async () => {
    const redis = await server();
    const oldPassword = `old-${randomUUID()}`;
    const newPassword = `new-${randomUUID()}`;
    await admin(redis.port, undefined, 'CONFIG', 'SET', 'requirepass', oldPassword);
    const a = await instance(redis.port, { password: oldPassword });
    expect(a.logger.lines).toEqual([]);

    // The password is rotated and every connection dropped: each reconnection is refused.
    await admin(redis.port, oldPassword, 'CONFIG', 'SET', 'requirepass', newPassword);
    await admin(redis.port, newPassword, 'CLIENT', 'KILL', 'TYPE', 'normal');
    await eventually(() => expect(a.logger.warnings()).toHaveLength(1), 3_000);
    expect(a.logger.warnings()[0]).toMatch(
      /^Circuit breaker store \(redis\) unavailable: connection lost \(WRONGPASS: invalid username-password pair or user is disabled\)\. Breakers run on local state/,
    );

    // Some 60 refused reconnections later, and transitions that cannot be shared: nothing more is said.
    a.breaker.forceOpen();
    await sleep(1_500);
    a.breaker.reset();
    await sleep(1_500);
    expect(a.logger.warnings()).toHaveLength(1);
    expect(a.logger.logs()).toEqual([]);

    // The old password works again: the store reconnects, and says so once.
    await admin(redis.port, newPassword, 'CONFIG', 'SET', 'requirepass', oldPassword);
    await eventually(() => expect(a.logger.logs()).toEqual(['Circuit breaker store (redis) available again; resynchronised 1 breaker']), 5_000);
    expect(a.logger.warnings()).toHaveLength(1);
    for (const { message } of a.logger.lines) {
      expect(message).not.toContain(oldPassword);
      expect(message).not.toContain(newPassword);
    }
    // The store listens for the client's errors: ioredis printed none of them as unhandled.
    expect(unhandledErrorPrints()).toEqual([]);
  });

  it('a server turned read-only replica logs one line naming READONLY, then "available again" once it is a primary', async () => {
    const [redis, primary] = await Promise.all([server(), server()]);
    const a = await instance(redis.port);
    await admin(redis.port, undefined, 'REPLICAOF', '127.0.0.1', String(primary.port));

    a.breaker.forceOpen(); // its write is refused
    await eventually(() => expect(a.logger.warnings()).toHaveLength(1), 2_000);
    expect(a.logger.warnings()[0]).toMatch(
      /^Circuit breaker store \(redis\) unavailable: sharing a transition of 'payments' failed \(READONLY: You can't write against a read only replica\)\. Breakers run on local state/,
    );
    expect(a.logger.warnings()[0]).not.toContain('script:'); // Redis's script location is no cause
    await sleep(2_100); // two retries a second apart, refused alike
    a.breaker.reset();
    await sleep(200);
    expect(a.logger.warnings()).toHaveLength(1);

    await admin(redis.port, undefined, 'REPLICAOF', 'NO', 'ONE');
    await eventually(() => expect(a.logger.logs()).toEqual(['Circuit breaker store (redis) available again; resynchronised 1 breaker']), 3_000);
    expect(a.logger.warnings()).toHaveLength(1);
  });

  it('a frozen server logs one line naming the timeout; a thawed one logs "available again"', async () => {
    const redis = await server();
    const a = await instance(redis.port);
    const frozen = freezer(redis);
    thaws.push(() => frozen.thaw());
    frozen.freeze();

    a.breaker.forceOpen(); // its write gets no answer
    await eventually(() => expect(a.logger.warnings()).toHaveLength(1), 2_000);
    expect(a.logger.warnings()[0]).toMatch(
      new RegExp(`^Circuit breaker store \\(redis\\) unavailable: sharing a transition of 'payments' got no answer within ${TIMEOUT_MS} ms \\(timeout\\)\\. Breakers run on local state`),
    );
    await sleep(2_100); // two retries a second apart, unanswered alike
    expect(a.logger.warnings()).toHaveLength(1);

    frozen.thaw();
    await eventually(() => expect(a.logger.logs()).toEqual(['Circuit breaker store (redis) available again; resynchronised 1 breaker']), 3_000);
    expect(a.logger.warnings()).toHaveLength(1);
  });
});
