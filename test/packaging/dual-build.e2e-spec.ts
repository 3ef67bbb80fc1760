import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

// Both builds in one Node process, as a mixed application can end up with them (a bundler or a test
// runner that resolves `import` and `require` of the package to different files): the ES module build
// through import() and the CommonJS build through createRequire, each with its own
// CircuitBreakerOpenError class. The child is plain Node (no Jest module registry in between) on
// dist/ and dist/cjs/, which `npm test` builds before Jest runs.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ESM_BUILD = join(ROOT, 'dist', 'index.js');
const CJS_BUILD = join(ROOT, 'dist', 'cjs', 'index.js');

const CHILD = `
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const esm = await import(${JSON.stringify(ESM_BUILD)});
const cjs = createRequire(${JSON.stringify(join(ROOT, 'package.json'))})(${JSON.stringify(CJS_BUILD)});

/** The open error a real breaker of this build rejects with, once forced open. */
async function openErrorOf(build, name) {
  const breaker = new build.Breaker(name, { resetTimeoutMs: 45_000 });
  breaker.forceOpen();
  return breaker.execute(async () => 'ran').then(() => { throw new Error(name + ': the call ran on a forced-open breaker'); }, (error) => error);
}
const fromEsm = await openErrorOf(esm, 'esm-breaker');
const fromCjs = await openErrorOf(cjs, 'cjs-breaker');
const timeoutFromCjs = new cjs.CallTimeoutError('cjs-breaker', 100);

// retry() of one build never retries an open error of the other
let retried = 0;
const retryOutcome = await esm.retry(() => { retried++; throw fromCjs; }, { maxAttempts: 3, baseDelayMs: 1 }).catch((e) => e === fromCjs ? 'rethrown' : String(e));

// The ESM build's interceptor in an app; the handler calls a breaker of the CommonJS build
const inventory = new cjs.Breaker('inventory', { resetTimeoutMs: 30_000 });
inventory.forceOpen();
class StockController { stock() { return inventory.execute(async () => ({ stock: 3 })); } }
Reflect.decorate([Get('stock'), esm.CircuitBreaker('stock-route')], StockController.prototype, 'stock', Object.getOwnPropertyDescriptor(StockController.prototype, 'stock'));
Reflect.decorate([Controller()], StockController);
// The ESM build's exception filter (its @Catch names the ESM classes) and a service of the CommonJS
// build's breaker, with no decorator on the route: Nest matches the filter by instanceof.
const quotes = new cjs.Breaker('quotes', { resetTimeoutMs: 20_000 });
quotes.forceOpen();
class QuoteController {
  quote() { return quotes.execute(async () => ({ price: 1 })); }
  late() { throw new cjs.CallTimeoutError('quotes', 250); }
  badName() { throw new cjs.CircuitBreakerNameError({ path: 'name', expected: 'expected a breaker name', value: 'a b' }); }
  full() { throw new cjs.CircuitBreakerLimitError('tenant-9', 8); }
}
Reflect.decorate([Get('bad-name')], QuoteController.prototype, 'badName', Object.getOwnPropertyDescriptor(QuoteController.prototype, 'badName'));
Reflect.decorate([Get('full')], QuoteController.prototype, 'full', Object.getOwnPropertyDescriptor(QuoteController.prototype, 'full'));
Reflect.decorate([Get('quote')], QuoteController.prototype, 'quote', Object.getOwnPropertyDescriptor(QuoteController.prototype, 'quote'));
Reflect.decorate([Get('late')], QuoteController.prototype, 'late', Object.getOwnPropertyDescriptor(QuoteController.prototype, 'late'));
Reflect.decorate([Controller()], QuoteController);
class AppModule {}
Reflect.decorate([Module({ imports: [esm.CircuitBreakerModule.forRoot({})], controllers: [StockController, QuoteController] })], AppModule);
const app = await NestFactory.create(AppModule, { logger: false });
app.useGlobalFilters(new esm.CircuitBreakerExceptionFilter());
await app.listen(0, '127.0.0.1');
const answer = async (path) => {
  const response = await fetch(new URL(path, await app.getUrl()));
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
};
const http = await answer('/stock');
const filtered = { quote: await answer('/quote'), late: await answer('/late'), badName: await answer('/bad-name'), full: await answer('/full') };
await app.close();

console.log(JSON.stringify({
  twoClasses: esm.CircuitBreakerOpenError !== cjs.CircuitBreakerOpenError,
  crossInstanceof: [fromEsm instanceof cjs.CircuitBreakerOpenError, fromCjs instanceof esm.CircuitBreakerOpenError],
  esmRecognises: [esm.isCircuitBreakerOpenError(fromEsm), esm.isCircuitBreakerOpenError(fromCjs)],
  cjsRecognises: [cjs.isCircuitBreakerOpenError(fromEsm), cjs.isCircuitBreakerOpenError(fromCjs)],
  notOpenErrors: [timeoutFromCjs, new Error('boom'), { breakerName: 'x', state: 'open', retryAfterMs: 1 }, null, undefined, 'open']
    .map((v) => [esm.isCircuitBreakerOpenError(v), cjs.isCircuitBreakerOpenError(v)]),
  fields: [fromEsm, fromCjs].map((e) => ({ name: e.name, breakerName: e.breakerName, state: e.state, retryAfterMs: e.retryAfterMs })),
  retry: { outcome: retryOutcome, calls: retried },
  http,
  filtered,
}));
`;

const run = promisify(execFile);

describe('the ES module and CommonJS builds loaded in one process', () => {
  let report: Record<string, unknown>;
  const child = async () => {
    if (report === undefined) {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', CHILD], { cwd: ROOT, timeout: 30_000 });
      report = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    }
    return report;
  };

  it('isCircuitBreakerOpenError() and instanceof of either build recognise an open error from either build', async () => {
    const r = await child();
    expect(r.twoClasses).toBe(true);
    expect(r.crossInstanceof).toEqual([true, true]);
    expect(r.esmRecognises).toEqual([true, true]);
    expect(r.cjsRecognises).toEqual([true, true]);
    expect(r.fields).toEqual([
      { name: 'CircuitBreakerOpenError', breakerName: 'esm-breaker', state: 'forced_open', retryAfterMs: expect.any(Number) },
      { name: 'CircuitBreakerOpenError', breakerName: 'cjs-breaker', state: 'forced_open', retryAfterMs: expect.any(Number) },
    ]);
  });

  it('isCircuitBreakerOpenError() of either build rejects what is not an open error: a call timeout, a plain Error, a look-alike object, non-objects', async () => {
    const r = await child();
    expect(r.notOpenErrors).toEqual([
      [false, false],
      [false, false],
      [false, false],
      [false, false],
      [false, false],
      [false, false],
    ]);
  });

  it('retry() of the ES module build does not retry an open error of the CommonJS build', async () => {
    expect((await child()).retry).toEqual({ outcome: 'rethrown', calls: 1 });
  });

  it("the ES module build's interceptor answers 503 with Retry-After for an open error of the CommonJS build, over HTTP", async () => {
    const { http } = (await child()) as { http: { status: number; retryAfter: string | null; body: Record<string, unknown> } };
    expect(http.status).toBe(503);
    expect(Number(http.retryAfter)).toBeGreaterThan(0);
    expect(http.body).toMatchObject({ statusCode: 503, breaker: 'inventory', circuit_state: 'forced_open' });
  });

  it("the ES module build's exception filter catches an open error, a call timeout, a name error and a limit error of the CommonJS build, over HTTP", async () => {
    const { filtered } = (await child()) as { filtered: Record<'quote' | 'late' | 'badName' | 'full', { status: number; retryAfter: string | null; body: Record<string, unknown> }> };
    expect(filtered.quote.status).toBe(503);
    expect(Number(filtered.quote.retryAfter)).toBe(20);
    expect(filtered.quote.body).toMatchObject({ statusCode: 503, breaker: 'quotes', circuit_state: 'forced_open', retry_after: 20 });
    expect(filtered.late.status).toBe(504);
    expect(filtered.late.body).toMatchObject({ statusCode: 504, breaker: 'quotes' });
    expect([filtered.badName.status, filtered.full.status]).toEqual([400, 503]);
  });
});
