'use strict';
// The compatibility smoke test (see run.sh): a plain CommonJS NestJS application, no TypeScript,
// that loads the packed library with require() and checks it over real HTTP. run.sh copies this file
// as `smoke.js` into a temporary project with `"type": "commonjs"`; COMPAT_ADAPTER picks the HTTP
// platform (`express` or `fastify`). Decorators are applied with Reflect.decorate, as compiled
// TypeScript does; constructor types are declared with `design:paramtypes` metadata by hand.
// Prints one line per check and exits 1 on the first failure.

require('reflect-metadata');
const assert = require('node:assert/strict');
const { BadGatewayException, Controller, Get, Injectable, Module } = require('@nestjs/common');
const { APP_FILTER, NestFactory } = require('@nestjs/core');
const { HealthCheck, HealthCheckService, TerminusModule } = require('@nestjs/terminus');
const {
  CircuitBreaker,
  CircuitBreakerExceptionFilter,
  CircuitBreakerModule,
  CircuitBreakerOpenError,
  CircuitBreakerRegistry,
} = require('nestjs-circuit-breaker');
const { CircuitBreakerHealthIndicator } = require('nestjs-circuit-breaker/health');

const ADAPTER = process.env.COMPAT_ADAPTER ?? 'express';
const TOKEN = 'compat-admin-token';

/** `Reflect.decorate` on a method, written back the way TypeScript's `__decorate` does. */
function decorateMethod(decorators, target, key) {
  const descriptor = Reflect.decorate(decorators, target, key, Object.getOwnPropertyDescriptor(target, key));
  Object.defineProperty(target, key, descriptor);
}

class PaymentsService {
  constructor() {
    this.calls = 0;
  }

  async charge() {
    this.calls++;
    throw new BadGatewayException('the payment provider answered 500');
  }
}
decorateMethod([CircuitBreaker('payments', { failureThreshold: 2, resetTimeoutMs: 60_000 })], PaymentsService.prototype, 'charge');
Reflect.decorate([Injectable()], PaymentsService);

class AppController {
  constructor(payments, health, breakers) {
    this.payments = payments;
    this.health = health;
    this.breakers = breakers;
  }

  charge() {
    return this.payments.charge();
  }

  /** A route-level breaker: the route itself fails, and answers 503 itself once open. */
  quote() {
    throw new BadGatewayException('the quote service answered 500');
  }

  readiness() {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers')]);
  }
}
decorateMethod([Get('charge')], AppController.prototype, 'charge');
decorateMethod([Get('quote'), CircuitBreaker('quotes', { failureThreshold: 1 })], AppController.prototype, 'quote');
decorateMethod([Get('health'), HealthCheck()], AppController.prototype, 'readiness');
Reflect.decorate(
  [Controller(), Reflect.metadata('design:paramtypes', [PaymentsService, HealthCheckService, CircuitBreakerHealthIndicator])],
  AppController,
);

class AppModule {}
Reflect.decorate([Module({
  imports: [
    CircuitBreakerModule.forRoot({ management: { enabled: true, token: TOKEN } }),
    TerminusModule,
  ],
  controllers: [AppController],
  providers: [PaymentsService, CircuitBreakerHealthIndicator, { provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }],
})], AppModule);

async function createApp() {
  if (ADAPTER === 'fastify') {
    const { FastifyAdapter } = require('@nestjs/platform-fastify');
    return NestFactory.create(AppModule, new FastifyAdapter(), { logger: false });
  }
  return NestFactory.create(AppModule, { logger: false });
}

async function check(what, fn) {
  try {
    await fn();
    console.log(`  ok   ${what}`);
  } catch (error) {
    console.log(`  FAIL ${what}`);
    throw error;
  }
}

async function main() {
  const versions = ['@nestjs/core', '@nestjs/terminus', ADAPTER === 'fastify' ? '@nestjs/platform-fastify' : '@nestjs/platform-express']
    .map((name) => `${name}@${require(`${name}/package.json`).version}`);
  console.log(`smoke: CommonJS app on ${versions.join(', ')}, node ${process.version}`);

  await check('require() loads the ESM-only package and its /health entry point', () => {
    assert.equal(require('nestjs-circuit-breaker/package.json').type, 'module');
    assert.equal(typeof CircuitBreakerModule.forRoot, 'function');
    assert.equal(typeof CircuitBreakerHealthIndicator, 'function');
    assert.ok(new CircuitBreakerOpenError('x', 'open', 1000) instanceof Error);
  });

  const app = await createApp();
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${app.getHttpServer().address().port}`;
  try {
    await check('GET /health is 200 while every breaker is closed', async () => {
      const res = await fetch(`${url}/health`);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal((await res.json()).details.circuit_breakers.breakers.payments.state, 'closed');
    });

    await check('a decorated service method fails through (502) until its breaker opens', async () => {
      for (let i = 0; i < 2; i++) assert.equal((await fetch(`${url}/charge`)).status, 502);
      assert.equal(app.get(CircuitBreakerRegistry).get('payments').state, 'open');
    });

    await check('the open breaker answers 503 with Retry-After without calling the service', async () => {
      const payments = app.get(PaymentsService);
      const before = payments.calls;
      const res = await fetch(`${url}/charge`);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '60');
      const body = await res.json();
      assert.deepEqual(
        { breaker: body.breaker, circuit_state: body.circuit_state, retry_after: body.retry_after, message: body.message },
        { breaker: 'payments', circuit_state: 'open', retry_after: 60, message: "Circuit breaker 'payments' is open" },
      );
      assert.equal(payments.calls, before);
    });

    await check('a route-level @CircuitBreaker opens and answers 503 with Retry-After', async () => {
      assert.equal((await fetch(`${url}/quote`)).status, 502);
      const res = await fetch(`${url}/quote`);
      assert.equal(res.status, 503);
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      assert.equal((await res.json()).breaker, 'quotes');
    });

    await check('GET /health is 503 (down) with the open breakers in its details', async () => {
      const res = await fetch(`${url}/health`);
      assert.equal(res.status, 503);
      const body = await res.json();
      assert.equal(body.status, 'error');
      assert.equal(body.details.circuit_breakers.status, 'down');
      assert.equal(body.details.circuit_breakers.breakers.payments.state, 'open');
    });

    await check('GET /circuit-breakers lists both breakers with a summary', async () => {
      const res = await fetch(`${url}/circuit-breakers`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.deepEqual(Object.keys(body.breakers), ['payments', 'quotes']);
      assert.equal(body.summary.open, 2);
      assert.equal(body.summary.health, 'unhealthy');
      assert.equal(body.breakers.payments.total_rejections, 1);
    });

    await check('GET /circuit-breakers/nope is 404 and creates nothing', async () => {
      assert.equal((await fetch(`${url}/circuit-breakers/nope`)).status, 404);
      assert.deepEqual(app.get(CircuitBreakerRegistry).names(), ['payments', 'quotes']);
    });

    await check('POST /circuit-breakers/payments/reset needs the token, then closes the breaker', async () => {
      assert.equal((await fetch(`${url}/circuit-breakers/payments/reset`, { method: 'POST' })).status, 401);
      const res = await fetch(`${url}/circuit-breakers/payments/reset`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200);
      assert.equal((await res.json()).state, 'closed');
      assert.equal((await fetch(`${url}/charge`)).status, 502); // called again
    });
  } finally {
    await app.close();
  }
}

main().then(
  () => console.log(`smoke: all checks passed (${ADAPTER})`),
  (error) => {
    console.error(error);
    process.exitCode = 1;
  },
);
