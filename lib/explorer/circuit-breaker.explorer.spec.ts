import { describe, expect, it } from '@jest/globals';
import { Injectable, Scope } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { firstValueFrom, Observable, of } from 'rxjs';
import { CircuitBreakerOpenError } from '../core/index.js';
import { CircuitBreaker } from '../decorators/circuit-breaker.decorator.js';
import { CircuitBreakerModule } from '../module/circuit-breaker.module.js';
import { CircuitBreakerRegistry } from '../registry/circuit-breaker.registry.js';

@Injectable()
class Client {
  @CircuitBreaker('sync')
  sync(value: number): number {
    return value * 2;
  }

  @CircuitBreaker('promise')
  async promise(value: number): Promise<number> {
    return value * 3;
  }

  @CircuitBreaker('observable')
  observable(value: number): Observable<number> {
    return of(value * 4);
  }
}

async function boot(providers: unknown[]) {
  const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot()], providers: providers as never[] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('CircuitBreakerExplorer', () => {
  it('replaces each decorated method on the instance, keeping its return kind; the prototype stays as declared', async () => {
    const app = await boot([Client]);
    const client = app.get(Client);
    expect(Object.hasOwn(client, 'sync')).toBe(true);
    expect(client.sync).not.toBe(Client.prototype.sync);
    expect(client.sync.name).toBe('sync');
    expect(client.sync(1)).toBe(2); // sync stays sync
    await expect(client.promise(1)).resolves.toBe(3);
    await expect(firstValueFrom(client.observable(1))).resolves.toBe(4);
    const registry = app.get(CircuitBreakerRegistry);
    expect(['sync', 'promise', 'observable'].map((n) => registry.get(n)!.snapshot().total_requests)).toEqual([1, 1, 1]);
    registry.forceOpen('promise');
    await expect(client.promise(1)).rejects.toBeInstanceOf(CircuitBreakerOpenError);
    await app.close();
  });

  it('warns about a request-scoped provider and leaves its methods unwrapped', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @CircuitBreaker('per-request')
      call() {
        return 'called';
      }
    }
    const warnings: string[] = [];
    const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot()], providers: [PerRequest] }).compile();
    const app = moduleRef.createNestApplication({ logger: { log() {}, error() {}, warn: (m: unknown) => warnings.push(String(m)) } });
    await app.init();
    expect(warnings.join('\n')).toMatch(/PerRequest is request-scoped.*@CircuitBreaker on call is not applied/);
    await app.close();
  });
});
