import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Breaker } from '../../lib/core/index.js';
import { RedisCircuitBreakerStore } from '../../lib/redis/index.js';
import { eventually } from '../../lib/testing/eventually.js';
import { describeCircuitBreakerStoreContract } from '../../lib/testing/store-contract.js';
import { type RedisCluster, startRedisCluster } from '../support/redis-cluster.js';

// An ioredis `Cluster` as the store's client, on a real 3-node Redis Cluster (three
// redis-server processes, masters only). Each breaker's keys carry its name as a hash tag
// (`<prefix>{<name>}:state`, `<prefix>{<name>}:leases`), so the scripts that touch both run on one
// slot, and breakers of different names land on different nodes.

/** Two names per node of the three (slot ranges 0–5460, 5461–10921, 10922–16383), by the slot of the name alone. */
const NAMES_BY_NODE = [['emails', 'ledger'], ['payments', 'search'], ['inventory', 'users']] as const;
const NAMES: readonly string[] = NAMES_BY_NODE.flat();
/** Generous: this process shares the machine with the rest of the suite (a lease not granted in time would fall back to the local limit). */
const TIMEOUT_MS = 500;
const PROPAGATION_MS = 1_000;
const RESET_TIMEOUT_MS = 300;
const silentBreaker = { error: () => undefined, warn: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Redis Cluster error replies: keys of two slots in one script, a command sent to the wrong node, a cluster not ready. */
const CLUSTER_ERRORS = /CROSSSLOT|MOVED|\bASK\b|CLUSTERDOWN|TRYAGAIN/;

describe('RedisCircuitBreakerStore on a 3-node Redis Cluster (real redis-server processes)', () => {
  let cluster: RedisCluster;
  let consoleError: jest.Spied<typeof console.error>;
  /** the logger of every store of the current test */
  let logger: { log: jest.Mock<(message: string) => void>; warn: jest.Mock<(message: string) => void> };
  const clients: (Cluster | Redis)[] = [];
  const stores: RedisCircuitBreakerStore[] = [];
  const breakers: Breaker[] = [];

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  beforeEach(() => {
    logger = { log: jest.fn(), warn: jest.fn() };
    // ioredis prints "[ioredis] Unhandled error event" through console.error for a client without an 'error' listener.
    consoleError = jest.spyOn(console, 'error');
  });
  afterEach(async () => {
    breakers.splice(0).forEach((breaker) => breaker.dispose());
    await Promise.all(stores.splice(0).map((store) => store.close()));
    clients.splice(0).forEach((client) => client.disconnect());
    const printed = consoleError.mock.calls.map((args) => args.map(String).join(' '));
    consoleError.mockRestore();
    // Checked after every test, the store contract's included: no cluster error, no outage, nothing unhandled.
    expect(logger.log.mock.calls.flat().filter((message) => CLUSTER_ERRORS.test(message))).toEqual([]);
    expect(logger.warn.mock.calls.flat()).toEqual([]);
    expect(printed.filter((text) => CLUSTER_ERRORS.test(text) || text.includes('Unhandled error event'))).toEqual([]);
  });

  /** An ioredis Cluster knowing one seed node (it discovers the others), as a user creates it. */
  function clusterClient(seed: number): Cluster {
    const client = new Cluster([{ host: '127.0.0.1', port: cluster.ports[seed % cluster.ports.length]! }]);
    clients.push(client);
    return client;
  }

  /** One instance of the service: its own Cluster client, store, and a breaker of each name. */
  async function instance(keyPrefix: string, seed: number) {
    const client = clusterClient(seed);
    const store = new RedisCircuitBreakerStore({ client, keyPrefix, timeoutMs: TIMEOUT_MS, logger });
    stores.push(store);
    const options = { failureThreshold: 1, resetTimeoutMs: RESET_TIMEOUT_MS, halfOpenMaxCalls: 1, halfOpenTimeoutMs: 10_000 };
    const byName = new Map(NAMES.map((name) => [name, new Breaker(name, options, { logger: silentBreaker })]));
    breakers.push(...byName.values());
    await Promise.all([...byName.values()].map((breaker) => store.attach(breaker)));
    return { client, store, breaker: (name: string) => byName.get(name)! };
  }

  /** The keys under `keyPrefix` held by each node, in the order of `cluster.ports` (KEYS answers for its own node only). */
  async function keysByNode(keyPrefix: string): Promise<string[][]> {
    return Promise.all(cluster.ports.map(async (port) => {
      const node = new Redis({ port, host: '127.0.0.1' });
      clients.push(node);
      return (await node.keys(`${keyPrefix}*`)).sort();
    }));
  }

  const keysOf = (prefix: string, names: readonly string[], kinds: readonly string[]) =>
    names.flatMap((name) => kinds.map((kind) => `${prefix}{${name}}:${kind}`)).sort();

  const fail = () => Promise.reject(new Error('dependency down'));

  it('an open, a force-open and a reset on one instance reach the other, for breakers on each of the three nodes', async () => {
    const prefix = `cluster-${randomUUID()}:`;
    const [a, b] = await Promise.all([instance(prefix, 0), instance(prefix, 1)]);
    const expectStates = (on: typeof a, state: string) =>
      eventually(() => {
        for (const name of NAMES) expect([name, on.breaker(name).state]).toEqual([name, state]);
      }, PROPAGATION_MS);

    await Promise.all(NAMES.map((name) => a.breaker(name).execute(fail).catch(() => undefined)));
    await expectStates(b, 'open');
    await expect(b.breaker('payments').execute(() => 'called')).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', state: 'open' });
    // The open period is the one that started on A.
    expect(b.breaker('inventory').retryAfterMs).toBeLessThanOrEqual(RESET_TIMEOUT_MS);

    await sleep(2); // a later millisecond: transitions are ordered by their wall-clock time
    NAMES.forEach((name) => a.breaker(name).reset());
    await expectStates(b, 'closed');
    await sleep(2);
    NAMES.forEach((name) => b.breaker(name).forceOpen());
    await expectStates(a, 'forced_open');
    await sleep(2);
    NAMES.forEach((name) => a.breaker(name).reset());
    await expectStates(b, 'closed');

    // Each breaker's state key sits on the node owning the slot of its name: two per node.
    const onNodes = await keysByNode(prefix);
    expect(onNodes.map((keys) => keys.filter((key) => key.endsWith(':state')))).toEqual(NAMES_BY_NODE.map((names) => keysOf(prefix, names, ['state'])));
  });

  it('the half-open lease holds fleet-wide: one probe per breaker across both instances, and its success closes both', async () => {
    const prefix = `cluster-${randomUUID()}:`;
    const [a, b] = await Promise.all([instance(prefix, 1), instance(prefix, 2)]);
    await Promise.all(NAMES.map((name) => a.breaker(name).execute(fail).catch(() => undefined)));
    await eventually(() => {
      for (const name of NAMES) expect([name, b.breaker(name).state]).toEqual([name, 'open']);
    }, PROPAGATION_MS);
    await eventually(() => {
      for (const on of [a, b]) for (const name of NAMES) expect([name, on.breaker(name).state]).toEqual([name, 'half_open']);
    }, RESET_TIMEOUT_MS + PROPAGATION_MS);

    let release!: () => void;
    const gate = new Promise<string>((resolve) => (release = () => resolve('ok')));
    const started = new Map<string, number>(NAMES.map((name) => [name, 0]));
    const rejected: unknown[] = [];
    const calls: Promise<unknown>[] = [];
    for (const on of [a, b]) {
      for (const name of NAMES) {
        const dependency = () => {
          started.set(name, started.get(name)! + 1);
          return gate;
        };
        for (let i = 0; i < 10; i++) calls.push(on.breaker(name).execute(dependency).catch((error: unknown) => void rejected.push(error)));
      }
    }
    const startedCount = () => [...started.values()].reduce((sum, n) => sum + n, 0);
    await eventually(() => expect(rejected.length + startedCount()).toBe(calls.length), PROPAGATION_MS);
    expect(Object.fromEntries(started)).toEqual(Object.fromEntries(NAMES.map((name) => [name, 1])));
    for (const error of rejected) expect(error).toMatchObject({ code: 'CIRCUIT_OPEN', state: 'half_open' });

    // While the probes run, each breaker's lease and state keys share a node (one slot): the one of its name.
    const onNodes = await keysByNode(prefix);
    expect(onNodes.map((keys) => keys.filter((key) => !key.endsWith(':marker')))).toEqual(NAMES_BY_NODE.map((names) => keysOf(prefix, names, ['leases', 'state'])));
    for (const name of NAMES) expect(await a.client.zcard(`${prefix}{${name}}:leases`)).toBe(1);

    release();
    await Promise.all(calls);
    await eventually(() => {
      for (const on of [a, b]) for (const name of NAMES) expect([name, on.breaker(name).state]).toEqual([name, 'closed']);
    }, PROPAGATION_MS);
    for (const name of NAMES) expect(await b.client.exists(`${prefix}{${name}}:leases`)).toBe(0);
  });

  it('a breaker attached later, on a client seeded with another node, starts from the shared state', async () => {
    const prefix = `cluster-${randomUUID()}:`;
    const a = await instance(prefix, 0);
    NAMES.forEach((name) => a.breaker(name).forceOpen());
    await sleep(50);
    const late = await instance(prefix, 2);
    for (const name of NAMES) expect([name, late.breaker(name).state]).toEqual([name, 'forced_open']);
  });

  // The whole store contract, each store with its own Cluster client (seeded with the nodes in turn).
  describeCircuitBreakerStoreContract('RedisCircuitBreakerStore on a Redis Cluster', () => {
    const keyPrefix = `contract-${randomUUID()}:`;
    let seed = 0;
    return { createStore: () => new RedisCircuitBreakerStore({ client: clusterClient(seed++), keyPrefix, timeoutMs: TIMEOUT_MS, logger }) };
  });
});
