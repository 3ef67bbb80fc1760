// The HTTP benchmark's server, run in its own process by bench/http.js: a small Nest application
// (express) with the same route three times: `/plain`, `/intercepted` (a no-op interceptor, for
// reference) and `/guarded` (`@CircuitBreaker`).
// Sends `{ port, guarded }` to the parent once listening; `guarded` is a reason string when the
// library has no decorator yet (then only `/plain` exists).

import 'reflect-metadata';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Controller, Get, Injectable, Module, UseInterceptors } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { decorateClass, decorateMethod, decoratorMissing } from './nest-support.js';

const lib = await import(process.env.BENCH_LIB ? pathToFileURL(path.resolve(process.env.BENCH_LIB)).href : '../dist/index.js');
const missing = decoratorMissing(lib);

/** A reference: what any interceptor costs in Nest (its RxJS pipeline), before a breaker does anything. */
class NoopInterceptor {
  intercept(_context, next) {
    return next.handle();
  }
}
decorateClass(NoopInterceptor, Injectable());

class BenchController {
  plain() {
    return Promise.resolve({ ok: true });
  }
  intercepted() {
    return Promise.resolve({ ok: true });
  }
  guarded() {
    return Promise.resolve({ ok: true });
  }
}
const declared = [Reflect.metadata('design:type', Function), Reflect.metadata('design:paramtypes', []), Reflect.metadata('design:returntype', Promise)];
decorateMethod(BenchController.prototype, 'plain', Get('plain'), ...declared);
decorateMethod(BenchController.prototype, 'intercepted', Get('intercepted'), UseInterceptors(NoopInterceptor), ...declared);
if (missing === null) decorateMethod(BenchController.prototype, 'guarded', Get('guarded'), lib.CircuitBreaker('bench.http'), ...declared);
decorateClass(BenchController, Controller());

class BenchModule {}
decorateClass(BenchModule, Module({ imports: missing === null ? [lib.CircuitBreakerModule.forRoot({})] : [], controllers: [BenchController] }));

const app = await NestFactory.create(BenchModule, { logger: false });
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address();
process.send({ port, guarded: missing ?? true });
process.on('message', async (msg) => {
  if (msg === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send({ cpuMicros: user + system });
  } else if (msg === 'stop') {
    await app.close();
    process.exit(0);
  }
});
