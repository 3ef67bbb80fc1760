import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { DynamicModule, INestApplication, LoggerService } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { type Breaker, type CircuitBreakerManagementOptions, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { resolveModuleOptions } from '../../lib/options/module-options.js';
import { eventually } from '../../lib/testing/eventually.js';
import { configErrorMessage } from '../support/config-error.js';

const LIMIT = 16 * 1024;

/** Every line logged through Nest's logger, with its level and context. */
class SpyLogger implements LoggerService {
  readonly lines: { level: string; message: string; context: unknown }[] = [];
  log(message: unknown, context?: unknown) { this.push('log', message, context); }
  error(message: unknown, ...rest: unknown[]) { this.push('error', message, rest.at(-1)); }
  warn(message: unknown, context?: unknown) { this.push('warn', message, context); }
  debug(message: unknown, context?: unknown) { this.push('debug', message, context); }
  verbose(message: unknown, context?: unknown) { this.push('verbose', message, context); }
  fatal(message: unknown, context?: unknown) { this.push('fatal', message, context); }
  warnings(): { message: string; context: unknown }[] {
    return this.lines.filter((l) => l.level === 'warn');
  }
  private push(level: string, message: unknown, context: unknown) {
    this.lines.push({ level, message: String(message), context });
  }
}

/** A client that reads everything it is sent. */
interface StreamClient {
  status: number;
  headers: IncomingMessage['headers'];
  /** the body so far */
  text: () => string;
  /** how many `event: <type>` messages arrived */
  count: (type: string) => number;
  close: () => void;
}

function openStream(base: string, path = '/events'): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    let req: ClientRequest | undefined = undefined;
    req = httpRequest(`${base}${path}`, { agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('error', () => undefined);
      resolve({
        status: res.statusCode!,
        headers: res.headers,
        text: () => body,
        count: (type) => body.split(`event: ${type}\n`).length - 1,
        close: () => req!.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A client that sends its request and never reads a byte of the answer (a stalled TCP peer). */
function openPausedStream(port: number, path: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      socket.pause();
      resolve({ socket, closed: new Promise<void>((done) => socket.once('close', () => done())) });
    });
    socket.on('error', () => undefined); // a reset is one way of being dropped
    socket.once('error', reject);
  });
}

const ADAPTERS = [
  ['Express', () => undefined],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe('event stream limits (management.events)', () => {
  let app: INestApplication | undefined;
  const clients: { close: () => void }[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await app?.close();
    app = undefined;
  });

  async function start(circuitBreakers: DynamicModule, adapter?: FastifyAdapter) {
    const moduleRef = await Test.createTestingModule({ imports: [circuitBreakers] }).compile();
    const logger = new SpyLogger();
    app = adapter === undefined ? moduleRef.createNestApplication({ logger }) : moduleRef.createNestApplication(adapter, { logger });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    return { registry: app.get(CircuitBreakerRegistry), logger, port, base: `http://127.0.0.1:${port}/circuit-breakers` };
  }

  const withEvents = (events: CircuitBreakerManagementOptions['events']) => CircuitBreakerModule.forRoot({ management: { enabled: true, events } });
  const openConnections = () => new Promise<number>((resolve, reject) => {
    app!.getHttpServer().getConnections((error: Error | null, count: number) => (error ? reject(error) : resolve(count)));
  });
  const track = <T extends { close: () => void }>(client: T): T => {
    clients.push(client);
    return client;
  };

  describe.each(ADAPTERS)('on %s', (_, adapter) => {
    it('drops a client that stops reading once its buffered bytes pass maxBufferedBytes; the others stream on', async () => {
      const { registry, logger, port, base } = await start(withEvents({ maxBufferedBytes: LIMIT, maxClients: 2 }), adapter());
      const [payments, search] = [registry.getOrCreate('payments'), registry.getOrCreate('search')] as [Breaker, Breaker];
      const idle = search.listenerCount('stateChange'); // the registry's own (its log)
      const reader = track(await openStream(base));
      expect(reader.status).toBe(200);
      await eventually(() => expect(search.listenerCount('stateChange')).toBe(idle + 1), 2_000);
      const before = [payments.listenerCount(), search.listenerCount()];

      // The stalled client asks for every call's outcome: only it attaches `success` listeners.
      const stalled = await openPausedStream(port, '/circuit-breakers/events?calls=true');
      clients.push({ close: () => stalled.socket.destroy() });
      await eventually(() => expect(payments.listenerCount('success')).toBe(1), 2_000);
      expect((await openStream(base)).status).toBe(503); // both slots taken

      // Flood: calls (to the stalled client only) and state changes (to both). The kernel's socket
      // buffers take the first bytes; then Node buffers them, up to the limit.
      const heapBefore = process.memoryUsage().heapUsed;
      let changes = 0;
      const streamWarnings = () => logger.warnings().filter((w) => /event-stream/i.test(w.message));
      // Until the drop (the kernel's share differs by system), then as much again to see the others unaffected.
      for (let batch = 0, after = 0; batch < 400 && after < 40; batch++) {
        if (streamWarnings().length > 0) after++;
        for (let i = 0; i < 500; i++) await payments.execute(() => 'ok');
        search.forceOpen();
        search.reset();
        changes += 2;
        await new Promise((resolve) => setImmediate(resolve)); // let the sockets move
      }
      const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

      const warnings = streamWarnings();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.context).toBe('CircuitBreaker');
      expect(warnings[0]!.message).toMatch(new RegExp(`dropped.*more than the limit of ${LIMIT} \\(management\\.events\\.maxBufferedBytes\\)`));
      // Nothing left behind: its per-call listeners are gone, its connection is closed by the server.
      await eventually(() => expect([payments.listenerCount(), search.listenerCount()]).toEqual(before), 2_000);
      expect(payments.listenerCount('success')).toBe(0);
      await eventually(async () => expect(await openConnections()).toBe(1), 2_000);
      stalled.socket.resume(); // reads what the kernel held, then sees the end
      await stalled.closed;
      expect(heapGrowth).toBeLessThan(20 * 1024 * 1024);

      // The reading client got every change of the flood, and still gets new ones; the slot is free again.
      await eventually(() => expect(reader.count('stateChange')).toBe(changes), 5_000);
      search.forceOpen();
      await eventually(() => expect(reader.count('stateChange')).toBe(changes + 1), 2_000);
      expect(track(await openStream(base)).status).toBe(200);
    });

    it('answers 503 with Retry-After past maxClients, and frees a slot when a client leaves', async () => {
      const { base } = await start(withEvents({ maxClients: 2 }), adapter());
      const first = track(await openStream(base));
      const second = track(await openStream(base));
      expect([first.status, second.status]).toEqual([200, 200]);

      const third = await openStream(base);
      expect(third.status).toBe(503);
      expect(third.headers['retry-after']).toBe('5');
      expect(third.headers['content-type']).toMatch(/^application\/json/);
      await eventually(() => expect(third.text()).toMatch(/\}$/), 2_000);
      const body = JSON.parse(third.text()) as { statusCode: number; message: string; maxClients: number };
      expect(body).toMatchObject({ statusCode: 503, maxClients: 2 });
      expect(body.message).toMatch(/the limit is 2 at once \(management\.events\.maxClients\)/);

      first.close();
      let next: StreamClient | undefined;
      await eventually(async () => {
        next = await openStream(base);
        if (next.status !== 200) next.close();
        expect(next.status).toBe(200);
      }, 2_000);
      track(next!);
      expect(next!.headers['content-type']).toMatch(/^text\/event-stream/);
    });
  });

  it('does not count the opening snapshot against maxBufferedBytes: with more breakers than the limit holds, a client stays', async () => {
    const { registry, logger, base } = await start(withEvents({ maxBufferedBytes: 1024 }));
    for (let i = 0; i < 400; i++) registry.getOrCreate(`tenant-${String(i).padStart(4, '0')}.api.example`);
    const client = track(await openStream(base));
    expect(client.status).toBe(200);
    await eventually(() => expect(client.count('snapshot')).toBe(1), 2_000);
    expect(client.text().length).toBeGreaterThan(10 * 1024); // the snapshot alone is ten times the limit
    registry.get('tenant-0001.api.example')!.forceOpen();
    await eventually(() => expect(client.count('stateChange')).toBe(1), 2_000);
    expect(logger.warnings().filter((w) => /dropped/.test(w.message))).toEqual([]); // (the transition's own log line is a warning)
  });

  it('takes the limits from a forRootAsync factory too, and defaults to 100 clients', async () => {
    const { base } = await start(CircuitBreakerModule.forRootAsync({
      useFactory: () => ({ management: { enabled: true, events: { maxClients: 1 } } }),
      management: { path: 'circuit-breakers' },
    }));
    expect(track(await openStream(base)).status).toBe(200);
    expect((await openStream(base)).status).toBe(503);
    await app!.close();

    const defaults = await start(withEvents(undefined));
    const crowd = await Promise.all(Array.from({ length: 101 }, () => openStream(defaults.base)));
    crowd.forEach(track);
    expect(crowd.filter((c) => c.status === 200)).toHaveLength(100);
    expect(crowd.filter((c) => c.status === 503)).toHaveLength(1);
  });

  it('rejects invalid limits with a CircuitBreakerConfigError naming the value and what was expected', async () => {
    const message = (events: unknown) => configErrorMessage(() => resolveModuleOptions({ management: { events } as CircuitBreakerManagementOptions }));
    expect(message({ maxClients: 0 })).toMatch(/management\.events\.maxClients: expected an integer number of clients from 1 to 1000000, received 0/);
    expect(message({ maxClients: 2.5 })).toMatch(/management\.events\.maxClients: .*received 2\.5/);
    expect(message({ maxBufferedBytes: '256k' })).toMatch(/management\.events\.maxBufferedBytes: expected an integer number of bytes from 1024 to 1073741824, received "256k"/);
    expect(message({ maxBufferedBytes: 100 })).toMatch(/management\.events\.maxBufferedBytes: .*received 100/);
    expect(message({ maxClient: 5 })).toMatch(/management\.events\.maxClient: unknown option \(known: maxClients, maxBufferedBytes\), received 5/);
    expect(message(true)).toMatch(/management\.events: expected an options object \{ maxClients\?, maxBufferedBytes\? \}, received true/);
    expect(() => resolveModuleOptions({ management: { events: { maxClients: 5, maxBufferedBytes: 1024 } } })).not.toThrow();

    // Through the module, at compile time.
    await expect(Test.createTestingModule({ imports: [withEvents({ maxClients: -1 })] }).compile()).rejects.toThrow(/management\.events\.maxClients: .*received -1/);
  });
});
