import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../../lib/testing/eventually.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { buildSampleApp, type SampleAppProcess, startSampleApp } from '../support/sample-app-process.js';

// A fleet of BUILT sample apps (child processes, as `npm start` runs them) sharing one real Redis
// (REDIS_URL) and one payment provider (DOWNSTREAM_URL) served by this test, which counts the charges
// it receives. The library must be built first (`npm run build`, as `npm test` does).

const TOKEN = 'fleet-admin-token';
/** The sample's default failure threshold. */
const FAILURE_THRESHOLD = 3;
/** `payments`' open period (CIRCUIT_BREAKER__PAYMENTS__TIMEOUT): long enough to start an instance in, short enough to wait for. */
const OPEN_PERIOD_S = 4;
const HALF_OPEN_MAX_CALLS = 2;
/** What docs/redis.md promises: a transition on one instance reaches the others within this. */
const PROPAGATION_MS = 100;
/** How long to poll for a state: generous, since the time it took is read from the instances themselves. */
const POLL_MS = 2_000;
/** `RedisCircuitBreakerStore`'s default `timeoutMs`, which the sample keeps. */
const STORE_TIMEOUT_MS = 50;
/**
 * Scheduling noise allowed on top of `STORE_TIMEOUT_MS` when comparing latencies with the baseline:
 * three apps, the load and the provider share two cores here. A request stuck behind a store that
 * does not answer (a reconnection, an offline queue) would take seconds.
 */
const NOISE_MS = 150;
const FLEET_ENV = {
  CIRCUIT_BREAKER_ADMIN_TOKEN: TOKEN,
  CIRCUIT_BREAKER__PAYMENTS__TIMEOUT: String(OPEN_PERIOD_S),
  CIRCUIT_BREAKER__PAYMENTS__HALF_OPEN_CALLS: String(HALF_OPEN_MAX_CALLS),
};
const UNAVAILABLE = 'Circuit breaker store (redis) unavailable';
const AVAILABLE_AGAIN = 'Circuit breaker store (redis) available again';

/** The payment provider of the fleet: `POST /charges` succeeds, fails (500) or is held unanswered, on command. */
class PaymentProvider {
  /** charges received so far */
  charges = 0;
  mode: 'succeed' | 'fail' | 'hold' = 'succeed';
  url = '';
  private readonly held: ServerResponse[] = [];
  private readonly server = createServer((req, res) => this.handle(req, res));

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** charges received and not answered yet */
  get holding(): number {
    return this.held.length;
  }

  /** Answers every held charge with a success, and lets the next ones succeed. */
  release(): void {
    this.mode = 'succeed';
    for (const res of this.held.splice(0)) succeed(res);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (req.method !== 'POST' || req.url !== '/charges') return void res.writeHead(404).end();
    this.charges++;
    if (this.mode === 'fail') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"provider down"}');
    if (this.mode === 'hold') return void this.held.push(res);
    succeed(res);
  }
}

function succeed(res: ServerResponse): void {
  res.writeHead(201, { 'content-type': 'application/json' })
    .end(JSON.stringify({ id: `ch_${randomUUID()}`, amount: 1299, currency: 'EUR', status: 'succeeded' }));
}

interface Reply {
  status: number;
  body: { breaker?: string; circuit_state?: string; state?: string; status?: string; last_state_change_at?: string };
  /** when it was sent (performance.now()) and how long it took, in ms */
  sentAt: number;
  ms: number;
}

/** One instance of the service. */
class Instance {
  constructor(readonly name: string, readonly app: SampleAppProcess) {}

  /** `POST /payments`: a charge through the `payments` breaker. */
  pay(): Promise<Reply> {
    return this.send('POST', '/payments', { amount: 1299, currency: 'EUR' });
  }

  /** The state in this instance's management API (a read moves OPEN to HALF_OPEN when due). */
  async state(): Promise<string | undefined> {
    return (await this.send('GET', '/circuit-breakers/payments')).body.state;
  }

  /** When its breaker last changed state, by its own account (wall-clock ms). */
  async changedAt(): Promise<number> {
    return Date.parse((await this.send('GET', '/circuit-breakers/payments')).body.last_state_change_at!);
  }

  /** A management write (`reset`, `force-open`) on `payments`. */
  async manage(action: 'reset' | 'force-open'): Promise<void> {
    const reply = await this.send('POST', `/circuit-breakers/payments/${action}`, undefined, { authorization: `Bearer ${TOKEN}` });
    expect(reply.status).toBe(200);
  }

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const sentAt = performance.now();
    const response = await fetch(this.app.baseUrl + path, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : JSON.parse(text), sentAt, ms: performance.now() - sentAt };
  }
}

/** Every instance in `states`, checked in parallel. */
async function expectStates(instances: Instance[], states: string[]): Promise<void> {
  const seen = await Promise.all(instances.map((i) => i.state()));
  for (const state of seen) expect(states).toContain(state);
}

/**
 * Checks that the last state change of `first` reached `others` within `PROPAGATION_MS`, measured
 * by the instances' own clocks (one host): the polling's round trips do not count.
 */
async function expectPropagated(first: Instance, others: Instance[]): Promise<void> {
  const [origin, ...reached] = await Promise.all([first, ...others].map((i) => i.changedAt()));
  for (const at of reached) expect(at - origin!).toBeLessThanOrEqual(PROPAGATION_MS);
}

/** A reply that the breaker or the provider explains: a charge, the provider's failure (502) or the open circuit (503). */
function expectDesignedOutcome(reply: Reply): void {
  if (reply.status === 503) expect(reply.body.breaker).toBe('payments');
  else expect([201, 502]).toContain(reply.status);
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe('a fleet of sample-app instances sharing Redis', () => {
  let redis: RedisServer;
  let main: string;
  const provider = new PaymentProvider();
  let fleet: Instance[] = [];
  const extra: SampleAppProcess[] = [];

  function startInstance(name: string): Promise<Instance> {
    return startSampleApp(main, { ...FLEET_ENV, REDIS_URL: redis.url, DOWNSTREAM_URL: provider.url }).then((app) => new Instance(name, app));
  }

  beforeAll(async () => {
    [redis, main] = await Promise.all([startRedisServer(), buildSampleApp('fleet-sample-app'), provider.start()]);
    fleet = await Promise.all(['a', 'b', 'c'].map(startInstance));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...fleet.map((i) => i.app.stop()), ...extra.map((app) => app.stop())]);
    await Promise.all([provider.stop(), redis?.stop()]);
  });

  beforeEach(async () => {
    // A fleet-wide reset (from one instance) starts every test closed, with a healthy provider.
    provider.release();
    await fleet[0]!.manage('reset');
    await eventually(() => expectStates(fleet, ['closed']), POLL_MS);
    provider.charges = 0;
  });

  /** Fails `payments` on `instance` until it opens. */
  async function trip(instance: Instance): Promise<void> {
    provider.mode = 'fail';
    for (let i = 0; i < FAILURE_THRESHOLD; i++) expect((await instance.pay()).status).toBe(502);
  }

  it('with DOWNSTREAM_URL the simulated downstream is not there to configure; a malformed REDIS_URL fails the boot without printing its password', async () => {
    const config = await fleet[0]!.send('GET', '/downstream/config');
    expect(config.status).toBe(409);
    expect(config.body).toMatchObject({ message: `The downstream is external (DOWNSTREAM_URL=${provider.url}): change its behaviour there` });

    const boot = startSampleApp(main, { REDIS_URL: 'admin:s3cret@127.0.0.1:6379' });
    const error = await boot.then((app) => app.stop().then(() => undefined), (thrown: unknown) => thrown as Error);
    expect(error?.message).toContain('REDIS_URL="***@127.0.0.1:6379": expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379');
    expect(error?.message).not.toContain('s3cret');
  });

  it('tripping payments on one instance makes the others reject within 100 ms; an instance started meanwhile starts open', async () => {
    const [a, b, c] = fleet as [Instance, Instance, Instance];
    await trip(a);
    const late = startInstance('d'); // a new instance, started while the fleet's breaker is open
    void late.then((d) => extra.push(d.app), () => undefined); // stopped in afterAll whatever happens here

    await eventually(() => expectStates([b, c], ['open']), POLL_MS);
    await expectPropagated(a, [b, c]);
    for (const other of [b, c]) {
      const rejected = await other.pay();
      expect(rejected.status).toBe(503);
      expect(rejected.body).toMatchObject({ breaker: 'payments', circuit_state: 'open' });
    }
    expect(provider.charges).toBe(FAILURE_THRESHOLD); // the others never called the provider

    const d = await late;
    // It loaded the shared OPEN while booting, before it served anything.
    const output = d.app.output();
    const opened = output.indexOf("CircuitBreaker 'payments': CLOSED → OPEN (shared: threshold reached");
    expect(opened).toBeGreaterThanOrEqual(0);
    expect(opened).toBeLessThan(output.indexOf('Sample app listening'));
    expect(await d.state()).toBe('open');
    expect((await d.pay()).status).toBe(503);
    expect(provider.charges).toBe(FAILURE_THRESHOLD);
    await d.app.stop();
  });

  it(`after the open period, 3 instances × 200 concurrent requests send at most ${HALF_OPEN_MAX_CALLS} probes in total; one probe success closes all three`, async () => {
    await trip(fleet[0]!);
    await eventually(() => expectStates(fleet, ['open']), POLL_MS);
    provider.mode = 'hold';
    provider.charges = 0;
    // Reading the state moves each instance to HALF_OPEN once the shared open period is over.
    await eventually(() => expectStates(fleet, ['half_open']), OPEN_PERIOD_S * 1_000 + 5_000);

    const replies: Reply[] = [];
    const storm = fleet.flatMap((instance) => Array.from({ length: 200 }, () => instance.pay().then((reply) => {
      replies.push(reply);
      return reply;
    })));
    // Every request is either answered (rejected) or held at the provider as a probe.
    await eventually(() => expect(replies.length + provider.holding).toBe(storm.length), 15_000);
    expect(provider.charges).toBe(provider.holding);
    expect(provider.holding).toBeGreaterThanOrEqual(1);
    expect(provider.holding).toBeLessThanOrEqual(HALF_OPEN_MAX_CALLS);
    for (const reply of replies) expect(reply).toMatchObject({ status: 503, body: { breaker: 'payments', circuit_state: 'half_open' } });

    const probes = provider.holding;
    provider.release();
    const all = await Promise.all(storm);
    expect(all.filter((reply) => reply.status === 201)).toHaveLength(probes);
    await eventually(() => expectStates(fleet, ['closed']), POLL_MS);
    const closedAt = await Promise.all(fleet.map((i) => i.changedAt()));
    expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeLessThanOrEqual(PROPAGATION_MS); // one closed, then the others
    for (const instance of fleet) expect((await instance.pay()).status).toBe(201);
    expect(provider.charges).toBe(probes + fleet.length);
  }, 30_000);

  it('killing Redis under traffic fails no request and delays none beyond timeoutMs; breakers work locally; after a restart a force-open reaches the others again', async () => {
    const [a, b, c] = fleet as [Instance, Instance, Instance];
    const replies: Reply[] = [];
    let running = true;
    const load = fleet.flatMap((instance) => Array.from({ length: 2 }, async () => {
      while (running) replies.push(await instance.pay());
    }));
    try {
      // Baseline: the same traffic, Redis up, breakers closed (after a warm-up: connections, JIT).
      await eventually(() => expect(replies.length).toBeGreaterThanOrEqual(60), 20_000);
      const warm = replies.length;
      await eventually(() => expect(replies.length).toBeGreaterThanOrEqual(warm + 300), 20_000);
      const baseline = replies.slice(warm);
      for (const reply of replies) expect(reply.status).toBe(201);
      const killedAt = performance.now();
      await redis.kill();
      await eventually(() => {
        for (const instance of fleet) expect(instance.app.output()).toContain(UNAVAILABLE);
      }, 5_000);

      // The provider fails: each instance trips on its own traffic (nothing can be shared), then rejects.
      const outputBefore = fleet.map((instance) => instance.app.output().length);
      provider.mode = 'fail';
      await eventually(() => expectStates(fleet, ['open']), 5_000);
      // The log line travels through the child's stdout pipe: it may arrive after the state is readable over HTTP.
      await eventually(() => fleet.forEach((instance, i) => {
        expect(instance.app.output().slice(outputBefore[i])).toContain(`CircuitBreaker 'payments': CLOSED → OPEN (threshold reached: ${FAILURE_THRESHOLD}/${FAILURE_THRESHOLD})`);
      }), 2_000);
      // The provider heals: after the open period, each instance probes under its local limit and closes.
      provider.mode = 'succeed';
      const closing = replies.length;
      await eventually(() => expectStates(fleet, ['closed']), OPEN_PERIOD_S * 1_000 + 5_000);
      await eventually(() => expect(replies.slice(closing).filter((reply) => reply.status === 201).length).toBeGreaterThanOrEqual(30), 5_000);
      running = false;
      await Promise.all(load);

      const outage = replies.filter((reply) => reply.sentAt + reply.ms >= killedAt); // in flight at the kill, or later
      for (const reply of outage) expectDesignedOutcome(reply);
      expect(outage.some((reply) => reply.status === 503)).toBe(true);
      const slowest = (list: Reply[]) => Math.max(...list.map((reply) => reply.ms));
      expect(slowest(outage)).toBeLessThanOrEqual(slowest(baseline) + STORE_TIMEOUT_MS + NOISE_MS);
      for (const instance of fleet) expect(count(instance.app.output(), UNAVAILABLE)).toBe(1); // logged once
    } finally {
      running = false;
      await Promise.all(load);
    }

    // Redis comes back (empty, same port): every instance resynchronises, and sharing works again.
    await redis.restart();
    await eventually(() => {
      for (const instance of fleet) expect(instance.app.output()).toContain(AVAILABLE_AGAIN);
    }, 10_000);
    for (const instance of fleet) expect(count(instance.app.output(), AVAILABLE_AGAIN)).toBe(1);
    await b.manage('force-open');
    await eventually(() => expectStates([a, c], ['forced_open']), POLL_MS);
    await expectPropagated(b, [a, c]);
    expect((await a.pay()).status).toBe(503);
  }, 45_000);
});
