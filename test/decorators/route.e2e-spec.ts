import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  BadRequestException,
  type CanActivate,
  Controller,
  type ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  type INestApplication,
  NotFoundException,
  Param,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { APP_FILTER, Reflector } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import {
  CircuitBreaker,
  CallTimeoutError,
  CircuitBreakerExceptionFilter,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const ROLE = 'test:role';

@Injectable()
class RoleGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const role = this.reflector.get<string>(ROLE, context.getHandler());
    return context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-role'] === role;
  }
}

@Injectable()
class Inventory {
  mode: 'ok' | 'fail' | 'bad-request' | 'not-found' = 'ok';
  calls = 0;

  lookup(sku: string): { sku: string; stock: number } {
    this.calls++;
    if (this.mode === 'fail') throw new Error('inventory down');
    if (this.mode === 'bad-request') throw new BadRequestException('bad sku');
    if (this.mode === 'not-found') throw new NotFoundException(`no ${sku}`);
    return { sku, stock: 3 };
  }
}

@Controller('products')
class ProductsController {
  constructor(
    private readonly inventory: Inventory,
    private readonly registry: CircuitBreakerRegistry,
  ) {}

  @Get(':sku')
  @CircuitBreaker('inventory')
  @HttpCode(203)
  product(@Param('sku') sku: string) {
    return this.inventory.lookup(sku);
  }

  @Get(':sku/guarded')
  @CircuitBreaker('guarded')
  @UseGuards(RoleGuard)
  @SetMetadata(ROLE, 'admin')
  guarded(@Param('sku') sku: string) {
    return this.inventory.lookup(sku);
  }

  @Get(':sku/cached')
  @CircuitBreaker('cached', { failureThreshold: 1, fallback: 'fromCache' })
  cached(@Param('sku') sku: string) {
    return this.inventory.lookup(sku);
  }

  fromCache(error: unknown, context: ExecutionContext) {
    const { sku } = context.switchToHttp().getRequest<{ params: { sku: string } }>().params;
    return { sku, stock: null, cached: true };
  }

  /** Undecorated: a service's breaker is open, `CircuitBreakerExceptionFilter` maps it. */
  @Get(':sku/via-service')
  async viaService(@Param('sku') sku: string) {
    return this.registry.getOrCreate('warehouse').execute(() => this.inventory.lookup(sku));
  }

  /** Undecorated: a service call times out, `CircuitBreakerExceptionFilter` answers 504. */
  @Get(':sku/slow-service')
  async slowService() {
    throw new CallTimeoutError('warehouse', 2_000);
  }
}

const clock = new FakeClock();

async function createApp(): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      CircuitBreakerModule.forRoot({
        defaults: { clock, failureThreshold: 2, resetTimeoutMs: 30_000 },
      }),
    ],
    controllers: [ProductsController],
    providers: [Inventory, RoleGuard, { provide: APP_FILTER, useClass: CircuitBreakerExceptionFilter }],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('@CircuitBreaker on route handlers', () => {
  let app: INestApplication;
  let inventory: Inventory;
  beforeEach(async () => {
    app = await createApp();
    inventory = app.get(Inventory);
  });
  afterEach(async () => {
    await app.close();
  });

  it('keeps the route: path, status code and result', async () => {
    await request(app.getHttpServer()).get('/products/abc').expect(203, { sku: 'abc', stock: 3 });
    expect(app.get(CircuitBreakerRegistry).get('inventory')!.snapshot().total_successes).toBe(1);
  });

  it('answers 503 with Retry-After and the SPEC body once open, without calling the handler', async () => {
    inventory.mode = 'fail';
    await request(app.getHttpServer()).get('/products/abc').expect(500);
    await request(app.getHttpServer()).get('/products/abc').expect(500);
    expect(inventory.calls).toBe(2);

    const open = await request(app.getHttpServer()).get('/products/abc').expect(503);
    expect(open.headers['retry-after']).toBe('30');
    expect(open.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: "Circuit breaker 'inventory' is open",
      breaker: 'inventory',
      circuit_state: 'open',
      retry_after: 30,
    });
    expect(inventory.calls).toBe(2);

    clock.advance(10_500); // 19.5 s left: rounded up
    const later = await request(app.getHttpServer()).get('/products/abc').expect(503);
    expect(later.headers['retry-after']).toBe('20');
    expect(later.body.retry_after).toBe(20);

    clock.advance(19_500);
    inventory.mode = 'ok';
    await request(app.getHttpServer()).get('/products/abc').expect(203);
    expect(app.get(CircuitBreakerRegistry).get('inventory')!.state).toBe('closed');
  });

  it('never opens on 400 or 404 HttpExceptions from the handler', async () => {
    inventory.mode = 'bad-request';
    for (let i = 0; i < 3; i++) await request(app.getHttpServer()).get('/products/abc').expect(400);
    inventory.mode = 'not-found';
    for (let i = 0; i < 3; i++) await request(app.getHttpServer()).get('/products/abc').expect(404);
    const snapshot = app.get(CircuitBreakerRegistry).get('inventory')!.snapshot();
    expect(snapshot.state).toBe('closed');
    expect(snapshot.total_ignored).toBe(6);
  });

  it('keeps guards and other metadata of the handler working', async () => {
    await request(app.getHttpServer()).get('/products/abc/guarded').expect(403);
    await request(app.getHttpServer()).get('/products/abc/guarded').set('x-role', 'admin').expect(200, { sku: 'abc', stock: 3 });
  });

  it('answers with a fallback method of the controller, given the execution context', async () => {
    inventory.mode = 'fail';
    await request(app.getHttpServer()).get('/products/abc/cached').expect(200, { sku: 'abc', stock: null, cached: true });
    expect(app.get(CircuitBreakerRegistry).get('cached')!.state).toBe('open');
    await request(app.getHttpServer()).get('/products/xyz/cached').expect(200, { sku: 'xyz', stock: null, cached: true });
    expect(inventory.calls).toBe(1);
  });

  it('maps an open breaker of a service inside an undecorated route through CircuitBreakerExceptionFilter', async () => {
    inventory.mode = 'fail';
    await request(app.getHttpServer()).get('/products/abc/via-service').expect(500);
    await request(app.getHttpServer()).get('/products/abc/via-service').expect(500);
    const open = await request(app.getHttpServer()).get('/products/abc/via-service').expect(503);
    expect(open.headers['retry-after']).toBe('30');
    expect(open.body).toMatchObject({ statusCode: 503, breaker: 'warehouse', circuit_state: 'open', retry_after: 30 });
  });

  it('maps a CallTimeoutError from a service to 504 Gateway Timeout through CircuitBreakerExceptionFilter', async () => {
    const res = await request(app.getHttpServer()).get('/products/abc/slow-service').expect(504);
    expect(res.body).toEqual({
      statusCode: 504, error: 'Gateway Timeout', message: "Call through circuit breaker 'warehouse' timed out after 2000 ms", breaker: 'warehouse', timeout_ms: 2_000,
    });
    expect(res.headers['retry-after']).toBeUndefined();
  });
});
