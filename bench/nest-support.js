// Nest glue for the benchmarks, in plain JavaScript: decorators applied by hand, exactly as
// TypeScript's emitted `__decorate` does (bottom decorator first).

import 'reflect-metadata';

/** Why the decorated rows cannot run yet, or null when the library exports what they need. */
export function decoratorMissing(lib) {
  const missing = ['CircuitBreakerModule', 'CircuitBreaker'].filter((name) => lib[name] === undefined);
  if (missing.length === 0 && typeof lib.CircuitBreakerModule.forRoot !== 'function') missing.push('CircuitBreakerModule.forRoot');
  return missing.length === 0 ? null : `pending: the library does not export ${missing.join(', ')} yet (lib/index.ts)`;
}

/** Applies method decorators, listed top to bottom as they would be written above the method. */
export function decorateMethod(proto, key, ...decorators) {
  let descriptor = Object.getOwnPropertyDescriptor(proto, key);
  for (let i = decorators.length - 1; i >= 0; i--) descriptor = decorators[i](proto, key, descriptor) ?? descriptor;
  Object.defineProperty(proto, key, descriptor);
}

/** Applies class decorators, listed top to bottom. */
export function decorateClass(cls, ...decorators) {
  let out = cls;
  for (let i = decorators.length - 1; i >= 0; i--) out = decorators[i](out) ?? out;
  return out;
}

/**
 * The `@CircuitBreaker` provider-method subject: a provider whose methods are decorated, in a real
 * application context (`NestFactory.createApplicationContext`). Returns `{ pending }` while the
 * library has no decorator yet.
 */
export async function nestSubject(lib) {
  const pending = decoratorMissing(lib);
  const base = { id: 'nest', label: '`@CircuitBreaker` provider method (Nest app context)', group: 'nest', make: null };
  if (pending !== null) return { ...base, pending };
  const { Injectable, Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { CircuitBreaker, CircuitBreakerModule, CircuitBreakerOpenError } = lib;

  // One method (and so one breaker) per scenario, so no scenario inherits another's state.
  class BenchService {
    call(fn) {
      return fn();
    }
    callMix(fn) {
      return fn();
    }
    callOpen(fn) {
      return fn();
    }
  }
  // What TypeScript emits for `@CircuitBreaker('…') call(fn: () => Promise<void>): Promise<void>`:
  // the decorator, then the design-time types (the return type tells the explorer it is a promise).
  const declared = [Reflect.metadata('design:type', Function), Reflect.metadata('design:paramtypes', [Function]), Reflect.metadata('design:returntype', Promise)];
  decorateMethod(BenchService.prototype, 'call', CircuitBreaker('bench.nest.closed'), ...declared);
  decorateMethod(BenchService.prototype, 'callMix', CircuitBreaker('bench.nest.mix'), ...declared);
  decorateMethod(BenchService.prototype, 'callOpen', CircuitBreaker('bench.nest.open'), ...declared);
  decorateClass(BenchService, Injectable());
  class BenchModule {}
  decorateClass(BenchModule, Module({ imports: [CircuitBreakerModule.forRoot({})], providers: [BenchService] }));

  const method = { closed: 'call', inflight: 'call', mix: 'callMix', open: 'callOpen' };
  return {
    ...base,
    create: async (scenario) => {
      const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
      await app.init();
      const service = app.get(BenchService);
      const name = method[scenario] ?? 'call';
      return {
        S: service,
        expr: (F) => `S.${name}(${F})`,
        isOpen: (e) => e instanceof CircuitBreakerOpenError,
        dispose: () => app.close(),
      };
    },
  };
}
