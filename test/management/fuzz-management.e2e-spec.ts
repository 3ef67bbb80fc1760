import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import { CircuitBreakerConfigError, CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';

// Fuzzing of the management API over real HTTP (raw sockets: no client-side URL or header checks),
// on Express and on Fastify. Whatever the path, method, name, body or header: never a 5xx, never a
// crash, always a 4xx that says what was wrong, and no breaker created by any request.

const TOKEN = 'fuzz-token';
const EXISTING = ['payments', 'search.v2', 'a'];
const NAME_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const NUM_RUNS = 200;

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one request exactly as given (request target and headers unchecked) on a fresh connection
 * and reads the answer. An event stream (the `events` route) is answered at once and cut.
 */
function raw(port: number, method: string, target: string, headers: Record<string, string> = {}, body: string | Buffer = ''): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.slice(0, text.indexOf('\r\n\r\n') >>> 0);
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let content = text.includes('\r\n\r\n') ? text.slice(text.indexOf('\r\n\r\n') + 4) : '';
      if (parsed['transfer-encoding'] === 'chunked') content = unchunk(content);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? NaN), headers: parsed, body: Buffer.from(content, 'latin1').toString('utf8') });
    };
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer within 5 s to ${method} ${target}`));
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (/content-type: text\/event-stream/i.test(Buffer.concat(chunks).toString('latin1'))) socket.destroy(); // the events route: alive, cut here
    });
    socket.on('close', finish);
    socket.on('error', () => undefined); // a reset after the answer: 'close' follows
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: localhost', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (bytes.length > 0 || method === 'POST') lines.push(`Content-Length: ${bytes.length}`);
    // write, not end: a half-closed client looks like an aborted request, and the event stream may then
    // close before its headers are out (a race, not an answer); `Connection: close` ends the exchange.
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), bytes]));
  });
}

function unchunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (eol < 0 || !(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 4 + size);
  }
}

/** A 4xx that says what was wrong: Nest's and the platforms' JSON errors carry a message; Node's own parser errors (400, 414, 431) may have no body. */
function expectClearClientError(res: RawResponse, what: string): void {
  expect({ what, status: res.status, ok: res.status >= 400 && res.status < 500 }).toEqual({ what, status: res.status, ok: true });
  if (!/json/.test(res.headers['content-type'] ?? '') || what.startsWith('HEAD ')) return;
  const body = JSON.parse(res.body) as { statusCode: number; message: unknown };
  expect(body.statusCode).toBe(res.status);
  const message = Array.isArray(body.message) ? body.message.join(' ') : body.message;
  expect(typeof message === 'string' && message.length > 0).toBe(true);
}

/** No 5xx: a 2xx/3xx answer, or a clear 4xx. */
function expectNoServerError(res: RawResponse, what: string): void {
  expect({ what, status: res.status, below500: res.status >= 200 && res.status < 500 }).toEqual({ what, status: res.status, below500: true });
  if (res.status >= 400) expectClearClientError(res, what);
}

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];
const OPERATIONS = ['reset', 'force-open', 'disable'];
const PIECES = [
  '%', '%E0%A4%A', '%ZZ', '%2F', '%2f', '%00', '%C3%BC', '%FF', 'ü', '😀', '..', '.', '/', '//', '?', '?calls=%', '#', ';', '~', ':', '-', '+', ' ', '\t',
  'events', 'EVENTS', 'dashboard', 'reset-all', 'reset', 'force-open', 'disable', 'payments', 'search.v2', '__proto__', 'constructor', 'x'.repeat(129),
];

/** Breaker names of every kind: valid, unicode, huge, reserved, prototype keys. */
const nameArb = fc.oneof(
  fc.stringMatching(NAME_PATTERN),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  fc.integer({ min: 129, max: 4_000 }).map((n) => 'n'.repeat(n)),
  fc.integer({ min: 100, max: 128 }).map((n) => 'v'.repeat(n)),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', 'reset-all', '.', '..', '-', ':', 'ünïcödé', '名前', 'a b', 'a/b', 'a\u0000b'),
);

describe.each(['express', 'fastify'] as const)('management API fuzzing (%s)', (platform) => {
  let app: INestApplication;
  let port: number;
  let registry: CircuitBreakerRegistry;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ management: { enabled: true, token: TOKEN }, defaults: { failureThreshold: 2 } })],
    }).compile();
    app = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
    registry = app.get(CircuitBreakerRegistry);
    for (const name of EXISTING) registry.getOrCreate(name);
  });

  afterAll(async () => {
    await app?.close();
  });

  /** The breakers exist as before, no other was created, and the API still answers. */
  async function expectUnchanged(): Promise<void> {
    expect(registry.names()).toEqual([...EXISTING].sort());
    const list = await raw(port, 'GET', '/circuit-breakers');
    expect(list.status).toBe(200);
    expect(Object.keys((JSON.parse(list.body) as { breakers: object }).breakers).sort()).toEqual([...EXISTING].sort());
  }

  it('any path and method under the API: never a 5xx, the server stays up', async () => {
    const suffixArb = fc.oneof(
      fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((parts) => parts.join('')),
      fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent),
      // raw bytes in the request target (no CR/LF: they would end the request line)
      fc.string({ unit: 'binary', maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), suffixArb, fc.boolean(), async (method, suffix, withToken) => {
        const target = `/circuit-breakers/${suffix}`;
        const res = await raw(port, method, target, withToken ? { Authorization: `Bearer ${TOKEN}` } : {});
        expectNoServerError(res, `${method} ${target}`);
      }),
      { numRuns: NUM_RUNS * 2 },
    );
    await expectUnchanged();
  });

  it('any breaker name: 404 naming it when it is well-formed, 400 naming it and the pattern when not, never a new breaker', async () => {
    await fc.assert(
      fc.asyncProperty(nameArb, fc.constantFrom('GET', ...OPERATIONS), async (name, operation) => {
        fc.pre(!EXISTING.includes(name) && !(operation === 'GET' && ['events', 'dashboard'].includes(name)));
        const target = `/circuit-breakers/${encodeURIComponent(name)}${operation === 'GET' ? '' : `/${operation}`}`;
        const res = await raw(port, operation === 'GET' ? 'GET' : 'POST', target, { Authorization: `Bearer ${TOKEN}` });
        const what = `${operation} ${JSON.stringify(name.slice(0, 60))} (${name.length} chars)`;
        expectClearClientError(res, what);
        if (res.status === 431 || (platform === 'fastify' && res.status === 414)) {
          // Node refuses request lines over 16 kB; Fastify refuses path parameters over 100 characters
          // (its maxParamLength): see the README's Reliability section.
          expect({ what, long: target.length > 16_000 || (platform === 'fastify' && encodeURIComponent(name).length > 100) }).toEqual({ what, long: true });
          return;
        }
        if (NAME_PATTERN.test(name)) {
          expect({ what, status: res.status }).toEqual({ what, status: 404 });
          expect(JSON.parse(res.body).message).toBe(`No circuit breaker named '${name}'`);
        } else {
          expect({ what, status: res.status }).toEqual({ what, status: 400 });
          const message = JSON.parse(res.body).message as string;
          // Nest's own decoding failure names the raw parameter; ours names the decoded value and the pattern
          if (!/^Failed to decode param/.test(message)) {
            // a long name is quoted by its first 40 characters and its length (a name comes from a URL)
            const characters = [...name];
            expect(message).toContain(characters.length <= 40 ? JSON.stringify(name) : `${JSON.stringify(`${characters.slice(0, 40).join('')}…`)} (${characters.length} characters)`);
            expect(message).toContain(String(NAME_PATTERN));
          }
        }
      }),
      { numRuns: NUM_RUNS * 2 },
    );
    await expectUnchanged();
  });

  it('names reserved for the API are refused in any case (Express routes ignore case)', () => {
    for (const name of ['events', 'Events', 'DASHBOARD', 'Reset-All']) {
      expect(() => registry.getOrCreate(name)).toThrow(CircuitBreakerConfigError);
    }
    expect(registry.names()).toEqual([...EXISTING].sort());
  });

  it('thousands of unknown names requested through the API create no breaker', async () => {
    // '.' and '..' are left out: every URL client resolves them as dot segments before sending.
    const names = [...new Set(fc.sample(fc.stringMatching(NAME_PATTERN), { numRuns: 3_000, seed: 42 }))]
      .filter((n) => !EXISTING.includes(n) && n !== '.' && n !== '..');
    expect(names.length).toBeGreaterThan(2_000);
    const base = `http://127.0.0.1:${port}/circuit-breakers/`;
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < names.length) {
        const i = next++;
        const name = encodeURIComponent(names[i]!);
        const op = OPERATIONS[i % OPERATIONS.length];
        for (const [url, init] of [[base + name, undefined], [`${base}${name}/${op}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } }]] as const) {
          const res = await fetch(url, init);
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }
    }));
    const expected = new Map([[404, names.length * 2]]);
    if (platform === 'fastify') {
      // parameters over 100 characters: 414 (see above)
      const long = names.filter((n) => encodeURIComponent(n).length > 100).length;
      expected.set(404, (names.length - long) * 2);
      if (long > 0) expected.set(414, long * 2);
    }
    expect(Object.fromEntries(statuses)).toEqual(Object.fromEntries(expected));
    await expectUnchanged();
    const summary = JSON.parse((await raw(port, 'GET', '/circuit-breakers')).body).summary as { total_breakers: number };
    expect(summary.total_breakers).toBe(EXISTING.length);
  }, 60_000); // 6,000 HTTP requests: seconds on a shared 2-core CI machine

  it('any body, content type and Authorization on writes: never a 5xx; only the right token on a known breaker succeeds', async () => {
    const bodyArb = fc.oneof(
      fc.json(),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom('{"__proto__":{"polluted":1}}', 'a[__proto__][polluted]=1', '{', '%', '\u0000', 'x'.repeat(200_000)),
    );
    const contentTypeArb = fc.option(fc.constantFrom(
      'application/json', 'application/json; charset=utf-16', 'application/json; charset=nope', 'application/x-www-form-urlencoded',
      'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'text/xml', '*/*', 'json', ';;;',
    ), { nil: undefined });
    const authArb = fc.oneof(
      fc.constant(`Bearer ${TOKEN}`),
      fc.constant(`bearer ${TOKEN}`),
      fc.constant(`Bearer ${TOKEN}x`),
      fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[\r\n]/g, '')),
      fc.constant(undefined),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('payments', 'unknown', 'bad name!', 'reset-all'),
        fc.constantFrom(...OPERATIONS),
        bodyArb,
        contentTypeArb,
        authArb,
        async (name, operation, body, contentType, authorization) => {
          const target = name === 'reset-all' ? '/circuit-breakers/reset-all' : `/circuit-breakers/${encodeURIComponent(name)}/${operation}`;
          const headers: Record<string, string> = {};
          if (contentType !== undefined) headers['Content-Type'] = contentType;
          if (authorization !== undefined) headers.Authorization = authorization;
          const res = await raw(port, 'POST', target, headers, body);
          const what = `POST ${target} (${contentType}, ${JSON.stringify(authorization)})`;
          expectNoServerError(res, what);
          if (res.status < 300) {
            expect({ what, authorized: /^bearer fuzz-token$/i.test(authorization ?? '') && ['payments', 'reset-all'].includes(name) }).toEqual({ what, authorized: true });
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectUnchanged();
  });
});
