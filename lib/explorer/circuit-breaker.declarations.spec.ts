import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, UseInterceptors } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CIRCUIT_BREAKER_DECLARATIONS } from '../constants.js';
import { CircuitBreakerConfigError } from '../core/index.js';
import { CircuitBreaker } from '../decorators/circuit-breaker.decorator.js';
import { Retry } from '../decorators/retry.decorator.js';
import { CircuitBreakerInterceptor } from '../interceptors/circuit-breaker.interceptor.js';
import { CircuitBreakerModule } from '../module/circuit-breaker.module.js';
import type { CircuitBreakerDeclarations } from './circuit-breaker.declarations.js';

@Injectable()
class Payments {
  @CircuitBreaker('payments', { failureThreshold: 3 })
  charge() {
    return 'charged';
  }

  @Retry({ maxAttempts: 2 })
  @CircuitBreaker()
  refund() {
    return 'refunded';
  }

  plain() {
    return 'plain';
  }
}

@Controller('orders')
class Orders {
  @Get()
  @CircuitBreaker('payments')
  list() {
    return [];
  }

  @Get('by-hand')
  @UseInterceptors(CircuitBreakerInterceptor)
  byHand() {
    return [];
  }
}

async function declarations(providers: unknown[], controllers: unknown[] = [], options = {}) {
  const moduleRef = await Test.createTestingModule({
    imports: [CircuitBreakerModule.forRoot(options)],
    providers: providers as never[],
    controllers: controllers as never[],
  }).compile();
  return moduleRef.get<CircuitBreakerDeclarations>(CIRCUIT_BREAKER_DECLARATIONS);
}

describe('CircuitBreakerDeclarations', () => {
  it('finds every decorated method with its layers, names and transport', async () => {
    const found = await declarations([Payments], [Orders]);
    const methods = found.classes.flatMap((c) => c.methods.map((m) => [m.where, m.names, m.layers.map((l) => l.kind), m.transport]));
    expect(methods).toEqual(expect.arrayContaining([
      ['Payments.charge', ['payments'], ['breaker'], null],
      ['Payments.refund', ['Payments.refund', undefined], ['breaker', 'retry'], null],
      ['Orders.list', ['payments'], ['breaker'], 'http'],
      // the interceptor by hand, no decorator: the breaker @CircuitBreaker() would give it
      ['Orders.byHand', ['Orders.byHand'], ['breaker'], 'http'],
    ]));
    expect(methods.map((m) => m[0])).not.toContain('Payments.plain');
  });

  it('lists the declared names with the first method naming each, and the options a decorator declares', async () => {
    const found = await declarations([Payments], [Orders]);
    expect([...found.declaredNames()]).toEqual(expect.arrayContaining([['payments', expect.stringMatching(/^(Payments\.charge|Orders\.list)$/)], ['Payments.refund', 'Payments.refund']]));
    expect(found.optionsFor('payments')).toEqual({ failureThreshold: 3 });
    expect(found.optionsFor('Payments.refund')).toBeUndefined();
  });

  it('fails the boot naming both methods when one name gets two different option sets', async () => {
    @Injectable()
    class Conflict {
      @CircuitBreaker('shared', { failureThreshold: 2 })
      a() {}

      @CircuitBreaker('shared', { failureThreshold: 4 })
      b() {}
    }
    const boot = declarations([Conflict]);
    await expect(boot).rejects.toBeInstanceOf(CircuitBreakerConfigError);
    await expect(declarations([Conflict])).rejects.toThrow(/Conflict\.a and Conflict\.b give 'shared' different options/);
  });

  it('under strict: true, fails the boot for a decorated name missing from breakers', async () => {
    await expect(declarations([Payments], [], { strict: true, breakers: { payments: {} } })).rejects.toThrow(/Payments\.refund @CircuitBreaker\('Payments\.refund'\).*strict: true/);
  });
});
