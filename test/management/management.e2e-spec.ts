import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { type CanActivate, type ExecutionContext, Global, Injectable, type INestApplication, Module } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { type Observable, of } from 'rxjs';
import request from 'supertest';
import {
  type Breaker,
  type CircuitBreakerManagementOptions,
  CircuitBreakerModule,
  type CircuitBreakerModuleOptions,
  CircuitBreakerRegistry,
} from '../../lib/index.js';
import { FakeClock } from '../../lib/testing/index.js';

const TOKEN = 's3cret-token';
const RESET_TIMEOUT_MS = 10_000;
const SNAPSHOT_KEYS = [
  'name', 'state', 'failure_count', 'failure_threshold', 'total_requests', 'total_successes', 'total_failures',
  'total_rejections', 'total_timeouts', 'total_ignored', 'total_slow_calls', 'success_rate', 'rejection_rate',
  'failure_rate', 'opened_at', 'last_failure_at', 'last_state_change_at',
].sort();
const SUMMARY_KEYS = ['total_breakers', 'open', 'half_open', 'closed', 'forced_open', 'disabled', 'health'].sort();
const WRITES = ['/circuit-breakers/payments/reset', '/circuit-breakers/payments/force-open', '/circuit-breakers/payments/disable', '/circuit-breakers/reset-all'];

const fail = (breaker: Breaker) => breaker.execute(() => Promise.reject(new Error('downstream failed'))).catch(() => undefined);

/** Whether a request carries the header `x-role: ops`. */
const isOps = (context: ExecutionContext) => context.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-role'] === 'ops';

/** A provider of the application that a guard class depends on. */
@Injectable()
class AccessPolicy {
  readonly checked: string[] = [];
  allows(context: ExecutionContext): boolean {
    this.checked.push(context.switchToHttp().getRequest<{ url: string }>().url);
    return isOps(context);
  }
}

@Global()
@Module({ providers: [AccessPolicy], exports: [AccessPolicy] })
class AccessPolicyModule {}

@Injectable()
class OpsGuard implements CanActivate {
  constructor(private readonly policy: AccessPolicy) {}
  canActivate(context: ExecutionContext): boolean {
    return this.policy.allows(context);
  }
}

describe('management API', () => {
  let app: INestApplication | undefined;
  let clock: FakeClock;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(circuitBreakers: ReturnType<typeof CircuitBreakerModule.forRoot>): Promise<{ registry: CircuitBreakerRegistry; http: ReturnType<typeof request> }> {
    const moduleRef = await Test.createTestingModule({ imports: [AccessPolicyModule, circuitBreakers] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return { registry: app.get(CircuitBreakerRegistry), http: request(app.getHttpServer()) };
  }

  function withManagement(management: CircuitBreakerManagementOptions, options: CircuitBreakerModuleOptions = {}) {
    clock = new FakeClock();
    return start(CircuitBreakerModule.forRoot({ defaults: { failureThreshold: 1, resetTimeoutMs: RESET_TIMEOUT_MS, clock }, ...options, management }));
  }

  /** Opens `GET path` on a listening server and resolves with its status and content type, then the first `chunks`. */
  async function openStream(path: string, onOpen?: () => void): Promise<{ status: number; contentType: string; body: string }> {
    await app!.listen(0, '127.0.0.1');
    const { port } = app!.getHttpServer().address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
        let body = '';
        const done = () => {
          req.destroy();
          resolve({ status: res.statusCode!, contentType: String(res.headers['content-type']), body });
        };
        if (res.statusCode !== 200) {
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', done);
          return;
        }
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
          if (body.includes('forced_open')) done();
        });
        onOpen?.();
      });
      req.setTimeout(5_000, () => {
        req.destroy();
        reject(new Error(`GET ${path}: no forced_open event within 5 s`));
      });
      req.on('error', reject);
      req.end();
    });
  }

  describe('reads', () => {
    it('lists nothing, healthy, with exactly the SPEC keys', async () => {
      const { http } = await withManagement({ enabled: true });
      const res = await http.get('/circuit-breakers').expect(200);
      expect(Object.keys(res.body).sort()).toEqual(['breakers', 'summary', 'timestamp']);
      expect(Number.isNaN(Date.parse(res.body.timestamp))).toBe(false);
      expect(res.body.summary).toEqual({ total_breakers: 0, open: 0, half_open: 0, closed: 0, forced_open: 0, disabled: 0, health: 'healthy' });
      expect(res.body.breakers).toEqual({});
    });

    it('counts every state in the summary, and each breaker is its snapshot with the SPEC keys', async () => {
      const { registry, http } = await withManagement({ enabled: true });
      const recovering = registry.getOrCreate('recovering');
      await fail(recovering);
      clock.advance(RESET_TIMEOUT_MS); // recovering: half_open on its next read
      await fail(registry.getOrCreate('payments')); // open
      registry.getOrCreate('search'); // closed
      registry.getOrCreate('ledger').forceOpen();
      registry.getOrCreate('audit').disable();

      const res = await http.get('/circuit-breakers').expect(200);
      expect(res.body.summary).toEqual({ total_breakers: 5, open: 1, half_open: 1, closed: 1, forced_open: 1, disabled: 1, health: 'degraded' });
      expect(Object.keys(res.body.breakers)).toEqual(['audit', 'ledger', 'payments', 'recovering', 'search']);
      for (const [name, snapshot] of Object.entries<Record<string, unknown>>(res.body.breakers)) {
        const expected = snapshot.state === 'open' ? [...SNAPSHOT_KEYS, 'time_until_retry'].sort() : SNAPSHOT_KEYS;
        expect(Object.keys(snapshot).sort()).toEqual(expected);
        expect(snapshot.name).toBe(name);
      }
      expect(res.body.breakers.payments).toMatchObject({ state: 'open', total_requests: 1, total_failures: 1, time_until_retry: 10 });
      expect(res.body.breakers.recovering.state).toBe('half_open');
    });

    it('health: unhealthy when every breaker is open or forced open, degraded when one is half open, healthy otherwise', async () => {
      const { registry, http } = await withManagement({ enabled: true });
      registry.getOrCreate('search');
      registry.getOrCreate('audit').disable();
      expect((await http.get('/circuit-breakers')).body.summary.health).toBe('healthy');

      await fail(registry.getOrCreate('payments'));
      expect((await http.get('/circuit-breakers')).body.summary.health).toBe('degraded');

      registry.get('search')!.forceOpen();
      registry.get('audit')!.forceOpen();
      expect((await http.get('/circuit-breakers')).body.summary).toMatchObject({ open: 1, forced_open: 2, health: 'unhealthy' });

      clock.advance(RESET_TIMEOUT_MS);
      expect((await http.get('/circuit-breakers')).body.summary).toMatchObject({ half_open: 1, forced_open: 2, health: 'degraded' });
    });

    it('GET /:name is that breaker\'s snapshot', async () => {
      const { registry, http } = await withManagement({ enabled: true });
      await fail(registry.getOrCreate('payments'));
      const res = await http.get('/circuit-breakers/payments').expect(200);
      expect(res.body).toMatchObject({ name: 'payments', state: 'open', total_failures: 1 });
      expect(Object.keys(res.body).sort()).toEqual([...SNAPSHOT_KEYS, 'time_until_retry'].sort());
    });

    it('an unknown name gives 404 and creates no breaker, on reads and writes', async () => {
      const { registry, http } = await withManagement({ enabled: true, token: TOKEN });
      registry.getOrCreate('payments');
      const res = await http.get('/circuit-breakers/paymnets').expect(404);
      expect(res.body.message).toBe("No circuit breaker named 'paymnets'");
      for (const action of ['reset', 'force-open', 'disable']) {
        await http.post(`/circuit-breakers/ledger/${action}`).set('Authorization', `Bearer ${TOKEN}`).expect(404);
      }
      expect(registry.names()).toEqual(['payments']);
    });

    it('a name that no breaker can have gives 400, naming the value and the pattern', async () => {
      const { http } = await withManagement({ enabled: true, token: TOKEN });
      const res = await http.get('/circuit-breakers/bad%20name').expect(400);
      expect(res.body.message).toContain('"bad name"');
      expect(res.body.message).toContain('^[A-Za-z0-9._:-]{1,128}$');
      await http.get(`/circuit-breakers/${'a'.repeat(129)}`).expect(400);
      await http.get('/circuit-breakers/a*b').expect(400);
      await http.post('/circuit-breakers/a%2Fb/reset').set('Authorization', `Bearer ${TOKEN}`).expect(400);
      await http.get(`/circuit-breakers/${'a'.repeat(128)}`).expect(404); // a valid name, unknown
    });

    it('serves events and dashboard on their own routes, not as breaker names', async () => {
      const { registry } = await withManagement({ enabled: true });
      const payments = registry.getOrCreate('payments');
      const dashboard = await request(app!.getHttpServer()).get('/circuit-breakers/dashboard').expect(200);
      expect(dashboard.headers['content-type']).toMatch(/^text\/html/);
      expect(dashboard.headers['content-security-policy']).toEqual(expect.stringContaining("default-src 'none'"));
      expect(dashboard.text).toContain('/circuit-breakers');

      const stream = await openStream('/circuit-breakers/events', () => payments.forceOpen());
      expect(stream.status).toBe(200);
      expect(stream.contentType).toMatch(/^text\/event-stream/);
      expect(stream.body).toContain('payments');
    });
  });

  describe('writes', () => {
    it('answer 403 saying how to enable them when neither a token nor a guard is set; reads still work', async () => {
      const { registry, http } = await withManagement({ enabled: true });
      await fail(registry.getOrCreate('payments'));
      for (const path of WRITES) {
        const res = await http.post(path).set('Authorization', 'Bearer anything').expect(403);
        expect(res.body.message).toContain('management.token');
        expect(res.body.message).toContain('CIRCUIT_BREAKER_ADMIN_TOKEN');
        expect(res.body.message).toContain('management.guards');
      }
      expect(registry.get('payments')!.state).toBe('open');
      await http.get('/circuit-breakers').expect(200);
    });

    it('answer 401 for a missing or wrong bearer token', async () => {
      const { registry, http } = await withManagement({ enabled: true, token: TOKEN });
      await fail(registry.getOrCreate('payments'));
      for (const path of WRITES) {
        const missing = await http.post(path).expect(401);
        expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
        for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN.toUpperCase()}`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
          await http.post(path).set('Authorization', authorization).expect(401);
        }
      }
      expect(registry.get('payments')!.state).toBe('open');
    });

    it('with the right token: reset, force-open, disable and reset-all answer 200 with the new state', async () => {
      const { registry, http } = await withManagement({ enabled: true, token: TOKEN });
      const auth = { Authorization: `Bearer ${TOKEN}` };
      const payments = registry.getOrCreate('payments');
      await fail(payments);
      expect(payments.state).toBe('open');

      const reset = await http.post('/circuit-breakers/payments/reset').set(auth).expect(200);
      expect(reset.body).toMatchObject({ name: 'payments', state: 'closed', total_requests: 0, total_failures: 0 });
      expect(payments.state).toBe('closed');

      const forced = await http.post('/circuit-breakers/payments/force-open').set('authorization', `bearer ${TOKEN}`).expect(200);
      expect(forced.body.state).toBe('forced_open');
      expect(payments.state).toBe('forced_open');

      await http.post('/circuit-breakers/payments/disable').set(auth).expect(200);
      expect(payments.state).toBe('disabled');

      registry.getOrCreate('search').forceOpen();
      await fail(registry.getOrCreate('ledger'));
      const all = await http.post('/circuit-breakers/reset-all').set(auth).expect(200);
      expect(all.body.summary).toMatchObject({ total_breakers: 3, closed: 3, health: 'healthy' });
      expect(registry.names().map((name) => registry.get(name)!.state)).toEqual(['closed', 'closed', 'closed']);
    });
  });

  describe('mounting and enabling', () => {
    it('answers 404 on every route while management.enabled is not true, like a route that does not exist', async () => {
      for (const management of [{ enabled: false, token: TOKEN }, { token: TOKEN }]) {
        const { registry, http } = await withManagement(management);
        registry.getOrCreate('payments');
        for (const path of ['/circuit-breakers', '/circuit-breakers/payments', '/circuit-breakers/dashboard', '/circuit-breakers/events']) {
          const res = await http.get(path).expect(404);
          expect(res.body.message).toBe(`Cannot GET ${path}`);
        }
        for (const path of WRITES) await http.post(path).set('Authorization', `Bearer ${TOKEN}`).expect(404);
        expect(registry.get('payments')!.state).toBe('closed');
        await app!.close();
        app = undefined;
      }
    });

    it('mounts nothing when no management options are given', async () => {
      const { http } = await start(CircuitBreakerModule.forRoot({}));
      await http.get('/circuit-breakers').expect(404);
    });

    it('forRootAsync: the management extra fixes the path, the factory enables it and sets the token', async () => {
      const { registry, http } = await start(CircuitBreakerModule.forRootAsync({
        useFactory: async () => ({ management: { enabled: true, token: TOKEN } }),
        management: { path: '/ops/breakers/' },
      }));
      registry.getOrCreate('payments');
      await http.get('/circuit-breakers').expect(404);
      const res = await http.get('/ops/breakers').expect(200);
      expect(Object.keys(res.body.breakers)).toEqual(['payments']);
      await http.post('/ops/breakers/payments/force-open').expect(401);
      await http.post('/ops/breakers/payments/force-open').set('Authorization', `Bearer ${TOKEN}`).expect(200);
      const dashboard = await http.get('/ops/breakers/dashboard').expect(200);
      expect(dashboard.text).toContain('/ops/breakers');
    });

    it('forRootAsync: a factory that does not enable management leaves every route 404', async () => {
      const { http } = await start(CircuitBreakerModule.forRootAsync({ useFactory: () => ({}), management: { path: 'circuit-breakers' } }));
      await http.get('/circuit-breakers').expect(404);
      await http.post('/circuit-breakers/reset-all').expect(404);
    });

    it('forRootAsync: enabled, token or guards in the management extra fail at once, naming each key', () => {
      expect(() => CircuitBreakerModule.forRootAsync({ useFactory: () => ({}), management: { path: 'cb', enabled: true, token: 's3cret' } }))
        .toThrow(/forRootAsync management\.enabled: the management extra of forRootAsync carries `path` only[\s\S]*forRootAsync management\.token[^\n]*<redacted>/);
      expect(() => CircuitBreakerModule.forRootAsync({ useFactory: () => ({}), management: { path: 'cb', token: 's3cret' } })).not.toThrow(/s3cret/);
    });

    it('a forRoot path is honoured', async () => {
      const { http } = await withManagement({ enabled: true, path: 'admin/cb' });
      await http.get('/admin/cb').expect(200);
      await http.get('/circuit-breakers').expect(404);
    });
  });

  it('behaves the same on Fastify', async () => {
    for (const enabled of [false, true]) {
      const moduleRef = await Test.createTestingModule({ imports: [CircuitBreakerModule.forRoot({ management: { enabled, token: TOKEN } })] }).compile();
      const fastify = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
      app = fastify;
      await fastify.init();
      await fastify.getHttpAdapter().getInstance().ready();
      fastify.get(CircuitBreakerRegistry).getOrCreate('payments');
      const http = request(fastify.getHttpServer());
      if (!enabled) {
        expect((await http.get('/circuit-breakers/payments').expect(404)).body.message).toBe('Cannot GET /circuit-breakers/payments');
      } else {
        const missing = await http.post('/circuit-breakers/payments/force-open').expect(401);
        expect(missing.headers['www-authenticate']).toBe('Bearer');
        await http.post('/circuit-breakers/payments/force-open').set('Authorization', `Bearer ${TOKEN}`).expect(200);
        expect((await http.get('/circuit-breakers').expect(200)).body.summary.forced_open).toBe(1);
        await http.get('/circuit-breakers/bad%20name').expect(400);
        const dashboard = await http.get('/circuit-breakers/dashboard').expect(200);
        expect(dashboard.headers['content-type']).toMatch(/^text\/html/);
        expect(dashboard.headers['content-security-policy']).toEqual(expect.stringContaining("default-src 'none'"));
      }
      await fastify.close();
      app = undefined;
    }
  });

  describe('guards', () => {
    it('a guard class (with its own dependencies) applies to every route; it alone authorizes writes', async () => {
      const { registry, http } = await withManagement({ enabled: true, guards: [OpsGuard] });
      const payments = registry.getOrCreate('payments');
      const reads = ['/circuit-breakers', '/circuit-breakers/payments', '/circuit-breakers/unknown', '/circuit-breakers/dashboard', '/circuit-breakers/events'];
      for (const path of reads) await http.get(path).expect(403);
      for (const path of WRITES) await http.post(path).expect(403);
      expect(payments.state).toBe('closed');
      expect(app!.get(AccessPolicy).checked).toHaveLength(reads.length + WRITES.length);

      await http.get('/circuit-breakers').set('x-role', 'ops').expect(200);
      await http.get('/circuit-breakers/payments').set('x-role', 'ops').expect(200);
      await http.get('/circuit-breakers/dashboard').set('x-role', 'ops').expect(200);
      await http.post('/circuit-breakers/payments/force-open').set('x-role', 'ops').expect(200);
      expect(payments.state).toBe('forced_open');
    });

    it('with a guard and a token, writes need both', async () => {
      const { registry, http } = await withManagement({ enabled: true, token: TOKEN, guards: [OpsGuard] });
      registry.getOrCreate('payments');
      await http.post('/circuit-breakers/payments/disable').set('Authorization', `Bearer ${TOKEN}`).expect(403);
      await http.post('/circuit-breakers/payments/disable').set('x-role', 'ops').expect(401);
      await http.post('/circuit-breakers/payments/disable').set('x-role', 'ops').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    });

    it('guard instances may answer with a boolean, a Promise or an Observable; every guard must allow', async () => {
      const seen: string[] = [];
      const promiseGuard: CanActivate = { canActivate: async (context) => (seen.push('promise'), isOps(context)) };
      const observableGuard: CanActivate = { canActivate: (context): Observable<boolean> => (seen.push('observable'), of(isOps(context))) };
      const { http } = await withManagement({ enabled: true, guards: [promiseGuard, observableGuard] });
      await http.get('/circuit-breakers').expect(403);
      await http.get('/circuit-breakers').set('x-role', 'ops').expect(200);
      expect(seen).toEqual(['promise', 'promise', 'observable']);

      await app!.close();
      const { http: denied } = await withManagement({ enabled: true, guards: [{ canActivate: () => true }, { canActivate: () => of(false) }] });
      await denied.get('/circuit-breakers').expect(403);
    });
  });
});
