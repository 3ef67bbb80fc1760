// The scale benchmark's server, run in its own process by bench/scale.js (one process per size, so
// that each heap figure starts from the same empty application): a Nest application (express) with
// the management API, Prometheus metrics on GET /metrics and a Terminus readiness route
// (/health/detailed), as the sample app serves them. It creates SCALE_N breakers through
// `registry.getOrCreate(name)`, sends traffic through half of them, and answers the parent's IPC
// messages:
//
//   { cmd: 'reset' }  resets the event-loop delay histogram → { cmd: 'reset', ok: true }
//   { cmd: 'read' }   → { cmd: 'read', maxMs } the longest event-loop delay since the reset
//   { cmd: 'stop' }   closes the application and exits
//
// Once listening it sends `{ cmd: 'ready', port, token, heap, setupMs, states }`.

import 'reflect-metadata';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Controller, Get, Header, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Registry } from 'prom-client';
import { decorateClass, decorateMethod } from '../nest-support.js';
import { createTraffic } from './traffic.js';

const { CircuitBreakerModule, CircuitBreakerRegistry } = await import('../../dist/index.js');
const { CircuitBreakerHealthIndicator } = await import('../../dist/health/index.js');
const { CircuitBreakerMetricsModule } = await import('../../dist/prometheus/index.js');

const N = Number(process.env.SCALE_N);
if (!Number.isInteger(N) || N < 1) throw new Error(`SCALE_N=${JSON.stringify(process.env.SCALE_N)}: expected a positive integer`);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:scale does)');
const TOKEN = 'bench-scale-token';

// One prom-client registry for this application (as the e2e fixtures do), served on GET /metrics.
const prom = new Registry();

class ObservabilityController {
  constructor(health, breakers) {
    this.health = health;
    this.breakers = breakers;
  }
  readiness() {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers')]);
  }
  readinessNotClosed() {
    return this.health.check([() => this.breakers.isHealthy('circuit_breakers', { details: 'not_closed' })]);
  }
  metrics() {
    return prom.metrics();
  }
}
decorateMethod(ObservabilityController.prototype, 'readiness', Get('health/detailed'), HealthCheck());
decorateMethod(ObservabilityController.prototype, 'readinessNotClosed', Get('health/ready'), HealthCheck());
decorateMethod(ObservabilityController.prototype, 'metrics', Get('metrics'), Header('Content-Type', prom.contentType), Header('Cache-Control', 'no-store'));
decorateClass(ObservabilityController, Controller(), Reflect.metadata('design:paramtypes', [HealthCheckService, CircuitBreakerHealthIndicator]));

class ScaleModule {}
decorateClass(ScaleModule, Module({
  imports: [
    CircuitBreakerModule.forRoot({ management: { enabled: true, token: TOKEN } }),
    TerminusModule,
    CircuitBreakerMetricsModule.forRoot({ registry: prom, path: 'streamed/metrics' }),
  ],
  controllers: [ObservabilityController],
  providers: [CircuitBreakerHealthIndicator],
}));

function heapUsed() {
  // Twice: the first full collection may leave work (weak references, finalizers) for a second one.
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

const app = await NestFactory.create(ScaleModule, { logger: false });
await app.init();
const registry = app.get(CircuitBreakerRegistry);

const heap0 = heapUsed();
const t0 = performance.now();
const names = Array.from({ length: N }, (_, i) => `tenant-${String(i).padStart(6, '0')}.api`);
const created = names.map((name) => registry.getOrCreate(name));
const createMs = performance.now() - t0;
const heapCreated = heapUsed();
const t1 = performance.now();
const states = await createTraffic(registry, created);
const trafficMs = performance.now() - t1;
const heapTraffic = heapUsed();

await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address();

const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();

process.send({
  cmd: 'ready',
  port,
  token: TOKEN,
  heap: { before: heap0, created: heapCreated, traffic: heapTraffic },
  setupMs: { create: createMs, traffic: trafficMs },
  states,
});

process.on('message', async (msg) => {
  if (msg.cmd === 'reset') {
    delay.reset();
    // A reset forgets the time of the last tick, and the first tick after it records nothing: a stall
    // that began before that tick would go unseen. Two ticks first.
    await new Promise((resolve) => setTimeout(resolve, 3));
    process.send({ cmd: 'reset', ok: true });
  } else if (msg.cmd === 'read') {
    // The histogram learns of a stall when its timer fires after it: give it two periods.
    await new Promise((resolve) => setTimeout(resolve, 5));
    process.send({ cmd: 'read', maxMs: delay.max / 1e6 });
  } else if (msg.cmd === 'stop') {
    delay.disable();
    await app.close();
    process.exit(0);
  }
});
