import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { BREAKER_EVENT_NAMES } from '../../lib/core/events.js';
import { type Breaker, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const TOKEN = 'events-test-token';

interface SseMessage {
  event: string;
  data: Record<string, unknown>;
}

/** A Server-Sent Events client on a raw HTTP request: what an EventSource receives, parsed. */
class SseClient {
  readonly messages: SseMessage[] = [];
  private buffer = '';
  private constructor(
    private readonly req: ClientRequest,
    readonly response: IncomingMessage,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.receive(chunk));
  }

  static connect(url: string): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(url, { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => resolve(new SseClient(req, res)));
      req.on('error', reject);
      req.end();
    });
  }

  of(type: string): Record<string, unknown>[] {
    return this.messages.filter((m) => m.event === type).map((m) => m.data);
  }

  close(): void {
    this.req.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) this.messages.push({ event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
    }
  }
}

/** Waits for a condition that depends on network I/O (not on time: no fake clock can drive sockets). */
async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const fail = (breaker: Breaker) => breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);

describe('GET /circuit-breakers/events (Server-Sent Events)', () => {
  let app: INestApplication;
  let registry: CircuitBreakerRegistry;
  let clock: FakeClock;
  let base: string;
  let breakers: Breaker[];
  /** each breaker's listener count with no client connected (the registry's own log listener) */
  let baseline: number[];
  const clients: SseClient[] = [];

  beforeEach(async () => {
    clock = new FakeClock();
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: { failureThreshold: 2, resetTimeoutMs: 10_000, clock },
          management: { enabled: true, token: TOKEN },
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/circuit-breakers`;
    registry = app.get(CircuitBreakerRegistry);
    breakers = [registry.getOrCreate('payments'), registry.getOrCreate('search')];
    baseline = breakers.map((b) => b.listenerCount());
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await app.close();
  });

  const connect = async (query = '') => {
    const client = await SseClient.connect(`${base}/events${query}`);
    clients.push(client);
    return client;
  };
  const openConnections = () => new Promise<number>((resolve, reject) => {
    app.getHttpServer().getConnections((error: Error | null, count: number) => (error ? reject(error) : resolve(count)));
  });
  const listenerCounts = () => breakers.map((b) => b.listenerCount());
  const noneLeftBehind = async () => {
    await until(async () => (await openConnections()) === 0, 'every connection to close on the server');
    expect(listenerCounts()).toEqual(baseline);
    for (const breaker of breakers) for (const event of BREAKER_EVENT_NAMES) expect(breaker.listenerCount(event)).toBe(event === 'stateChange' ? 1 : 0);
  };

  it('streams every state change, in order, as text/event-stream', async () => {
    const client = await connect();
    expect(client.response.statusCode).toBe(200);
    expect(client.response.headers['content-type']).toMatch(/^text\/event-stream/);
    const [payments, search] = breakers as [Breaker, Breaker];

    await fail(payments);
    await fail(payments); // closed → open
    clock.advance(10_000);
    expect(payments.state).toBe('half_open'); // a read moves it: open → half_open
    await payments.execute(() => 'ok'); // half_open → closed
    const auth = { Authorization: `Bearer ${TOKEN}` };
    await request(app.getHttpServer()).post('/circuit-breakers/search/force-open').set(auth).expect(200);
    await request(app.getHttpServer()).post('/circuit-breakers/search/reset').set(auth).expect(200);

    await until(() => client.of('stateChange').length >= 5, 'five state changes');
    expect(client.of('stateChange').map(({ name, from, to, reason }) => ({ name, from, to, reason }))).toEqual([
      { name: 'payments', from: 'closed', to: 'open', reason: 'threshold reached: 2/2' },
      { name: 'payments', from: 'open', to: 'half_open', reason: 'reset timeout elapsed' },
      { name: 'payments', from: 'half_open', to: 'closed', reason: 'probe succeeded: 1/1' },
      { name: 'search', from: 'closed', to: 'forced_open', reason: 'forced open' },
      { name: 'search', from: 'forced_open', to: 'closed', reason: 'manual reset' },
    ]);
    for (const change of client.of('stateChange')) {
      expect(change.type).toBe('stateChange');
      expect(Number.isNaN(Date.parse(String(change.at)))).toBe(false);
    }
    // First the snapshot: every breaker's state as the client connected.
    expect(client.messages[0]).toMatchObject({ event: 'snapshot', data: { type: 'snapshot', breakers: { payments: 'closed', search: 'closed' } } });
    // Per-call events are opt-in: none here, and calls stayed untimed.
    expect(client.messages.slice(1).filter((m) => m.event !== 'stateChange' && m.event !== 'heartbeat')).toEqual([]);
    expect(breakers.map((b) => b.listenerCount('success') + b.listenerCount('failure'))).toEqual([0, 0]);
  });

  it('streams per-call events with ?calls=true, and detaches their listeners when the client leaves', async () => {
    const client = await connect('?calls=true');
    const [payments] = breakers as [Breaker];
    await until(() => payments.listenerCount('success') === 1, 'the per-call listeners');
    await payments.execute(() => 'ok');
    await fail(payments);
    await until(() => client.of('failure').length === 1 && client.of('success').length === 1, 'a success and a failure');
    expect(client.of('failure')[0]).toMatchObject({ type: 'failure', name: 'payments', error: { name: 'Error' } });
    expect(client.of('success')[0]).toMatchObject({ type: 'success', name: 'payments' });
    client.close();
    await noneLeftBehind();
  });

  it('leaves no listener behind after 100 clients connect and disconnect', async () => {
    // 100 clients at once, all receiving the same change, then all gone.
    const crowd = await Promise.all(Array.from({ length: 100 }, () => connect()));
    expect(crowd.every((c) => c.response.statusCode === 200)).toBe(true);
    expect(breakers.every((b, i) => b.listenerCount('stateChange') > baseline[i]!)).toBe(true);
    breakers[1]!.forceOpen();
    await until(() => crowd.every((c) => c.of('stateChange').length === 1), 'the change at every client');
    for (const client of crowd) client.close();
    await noneLeftBehind();

    // 100 clients that leave at once, most before their stream was even set up.
    const quitters = Array.from({ length: 100 }, () => {
      const req = httpRequest(`${base}/events`, { agent: false });
      req.on('error', () => undefined);
      req.end();
      return req;
    });
    for (const [i, req] of quitters.entries()) {
      if (i % 2 === 0) req.destroy();
      else req.on('response', () => req.destroy());
    }
    await until(() => quitters.every((req) => req.destroyed), 'every client to leave');
    await noneLeftBehind();

    // The stream still works for the next client.
    const next = await connect();
    breakers[1]!.reset();
    await until(() => next.of('stateChange').length === 1, 'a change after the crowd left');
  });
});
