// @nestjs/axios against a real local HTTP server: with isDependencyFailure a downstream 404 is the
// caller's fault and never opens the breaker, a 503 does; the Observable form aborts the request
// when callTimeoutMs passes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpModule, HttpService } from '@nestjs/axios';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, map, type Observable } from 'rxjs';
import {
  CallTimeoutError,
  CircuitBreaker,
  CircuitBreakerModule,
  CircuitBreakerOpenError,
  CircuitBreakerRegistry,
  isDependencyFailure,
  isDependencyFailureResponse,
} from '../../lib/index.js';

let base = '';
const aborted: string[] = [];

@Injectable()
class CatalogClient {
  constructor(private readonly http: HttpService) {}

  @CircuitBreaker('catalog', { failureThreshold: 3, isFailure: isDependencyFailure })
  async product(id: string): Promise<unknown> {
    return (await firstValueFrom(this.http.get(`${base}/products/${id}`))).data;
  }

  @CircuitBreaker('catalog-stream', { callTimeoutMs: 100, isFailure: isDependencyFailure })
  product$(id: string): Observable<unknown> {
    return this.http.get(`${base}/products/${id}`).pipe(map((res) => res.data));
  }
}

describe('HTTP clients: @nestjs/axios with isDependencyFailure', () => {
  let server: Server;
  let app: INestApplication;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const id = req.url!.split('/').pop();
      if (id === 'slow') {
        req.socket.on('close', () => aborted.push(id)); // never answered: only the client can end it
        return;
      }
      const status = id === 'missing' ? 404 : id === 'broken' ? 503 : 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot(), HttpModule],
      providers: [CatalogClient],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(async () => {
    await app.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lets 404s through as the caller\'s errors without opening, and opens on 503s', async () => {
    const client = app.get(CatalogClient);
    const catalog = app.get(CircuitBreakerRegistry).get('catalog')!;
    for (let i = 0; i < 5; i++) await expect(client.product('missing')).rejects.toMatchObject({ response: { status: 404 } });
    expect(catalog.state).toBe('closed');
    expect(catalog.snapshot().failure_count).toBe(0);
    await expect(client.product('ok')).resolves.toEqual({ id: 'ok' });
    for (let i = 0; i < 3; i++) await expect(client.product('broken')).rejects.toMatchObject({ response: { status: 503 } });
    expect(catalog.state).toBe('open');
    await expect(client.product('ok')).rejects.toBeInstanceOf(CircuitBreakerOpenError);
  });

  it('aborts the request of the Observable form when callTimeoutMs passes', async () => {
    const client = app.get(CatalogClient);
    await expect(firstValueFrom(client.product$('slow'))).rejects.toBeInstanceOf(CallTimeoutError);
    for (let i = 0; i < 50 && aborted.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(aborted).toEqual(['slow']);
  });

  it('reads fetch-style responses: 5xx, 408 and 429 are failures, other statuses are not', () => {
    const response = (status: number) => ({ status, ok: status < 300 });
    expect([200, 404, 500, 503, 408, 429, 400].map((s) => isDependencyFailureResponse(response(s)))).toEqual([false, false, true, true, true, true, false]);
    expect([404, 500, 429].map((s) => isDependencyFailure(response(s)))).toEqual([false, true, true]);
    expect(isDependencyFailure(new Error('ECONNREFUSED'))).toBe(true);
  });
});
