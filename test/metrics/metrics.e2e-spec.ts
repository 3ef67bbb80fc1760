import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, type DynamicModule, Get, Inject, Injectable, type INestApplication, Post, Res } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { register as defaultPromRegistry, Registry } from 'prom-client';
import request from 'supertest';
import { CircuitBreaker, CircuitBreakerExceptionFilter, CircuitBreakerModule, type CircuitBreakerSnapshot } from '../../lib/index.js';
import { CIRCUIT_BREAKER_METRIC_NAMES, CircuitBreakerMetricsModule } from '../../lib/prometheus/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PROM_REGISTRY = 'TEST_PROM_REGISTRY';

@Injectable()
class PaymentGateway {
  failing = false;

  @CircuitBreaker('payments')
  async charge(): Promise<{ charged: true }> {
    if (this.failing) throw new Error('gateway down');
    return { charged: true };
  }
}

@Controller()
class ShopController {
  constructor(
    private readonly gateway: PaymentGateway,
    @Inject(PROM_REGISTRY) private readonly prom: Registry,
  ) {}

  @Post('charge')
  charge() {
    return this.gateway.charge();
  }

  @Get('metrics')
  async metrics(@Res() res: { type(t: string): { send(body: string): void } }) {
    res.type(this.prom.contentType).send(await this.prom.metrics());
  }
}

/** One series of a scrape in the text format: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseScrape(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length
    && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('Prometheus metrics (nestjs-circuit-breaker/prometheus)', () => {
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });

  async function createApp(promRegistry?: Registry, metricsModule?: DynamicModule): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({
          breakers: { payments: { failureThreshold: 3, resetTimeoutMs: 60_000 } },
          management: { enabled: true },
        }),
        metricsModule ?? CircuitBreakerMetricsModule.forRoot(promRegistry === undefined ? {} : { registry: promRegistry }),
      ],
      controllers: [ShopController],
      providers: [PaymentGateway, { provide: PROM_REGISTRY, useValue: promRegistry ?? defaultPromRegistry }],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new CircuitBreakerExceptionFilter());
    apps.push(app);
    await app.init();
    return app;
  }

  async function trip(app: INestApplication): Promise<void> {
    const server = app.getHttpServer();
    await request(server).post('/charge').expect(201);
    await request(server).post('/charge').expect(201);
    app.get(PaymentGateway).failing = true;
    for (let i = 0; i < 3; i++) await request(server).post('/charge').expect(500);
    await request(server).post('/charge').expect(503);
    await request(server).post('/charge').expect(503);
  }

  async function scrape(app: INestApplication): Promise<Sample[]> {
    const res = await request(app.getHttpServer()).get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseScrape(res.text);
  }

  it('after tripping payments, a scrape shows circuit_breaker_state 2 and counters equal to the snapshot totals', async () => {
    const app = await createApp();
    await trip(app);
    const samples = await scrape(app);
    const snap = (await request(app.getHttpServer()).get('/circuit-breakers/payments').expect(200)).body as CircuitBreakerSnapshot;
    expect(snap.state).toBe('open');

    const name = { name: 'payments' };
    expect(valueOf(samples, 'circuit_breaker_state', name)).toBe(2);
    expect(valueOf(samples, 'circuit_breaker_requests_total', name)).toBe(snap.total_requests);
    expect(valueOf(samples, 'circuit_breaker_successes_total', name)).toBe(snap.total_successes);
    expect(valueOf(samples, 'circuit_breaker_failures_total', name)).toBe(snap.total_failures);
    expect(valueOf(samples, 'circuit_breaker_rejections_total', name)).toBe(snap.total_rejections);
    expect(valueOf(samples, 'circuit_breaker_timeouts_total', name)).toBe(snap.total_timeouts);
    expect(valueOf(samples, 'circuit_breaker_success_rate', name)).toBe(snap.success_rate);
    expect([snap.total_requests, snap.total_successes, snap.total_failures, snap.total_rejections]).toEqual([7, 2, 3, 2]);
    expect(valueOf(samples, 'circuit_breaker_state_transitions_total', { name: 'payments', from: 'closed', to: 'open' })).toBe(1);
    // Call durations are observed by default: every call that ran (successes and failures), not the rejected ones.
    expect(valueOf(samples, 'circuit_breaker_call_duration_seconds_count', name)).toBe(snap.total_successes + snap.total_failures);
  });

  it('feeds the duration histogram by default as calls grow, and not with observeCallDurations: false', async () => {
    const promOn = new Registry();
    const on = await createApp(promOn);
    const promOff = new Registry();
    const off = await createApp(promOff, CircuitBreakerMetricsModule.forRoot({ registry: promOff, observeCallDurations: false }));
    const count = async (app: INestApplication) => valueOf(await scrape(app), 'circuit_breaker_call_duration_seconds_count', { name: 'payments' });
    expect(await count(on)).toBeUndefined(); // no call yet
    for (let i = 0; i < 4; i++) await request(on.getHttpServer()).post('/charge').expect(201);
    expect(await count(on)).toBe(4);
    await request(on.getHttpServer()).post('/charge').expect(201);
    expect(await count(on)).toBe(5);
    for (let i = 0; i < 4; i++) await request(off.getHttpServer()).post('/charge').expect(201);
    expect(await count(off)).toBeUndefined();
    expect((await request(off.getHttpServer()).get('/circuit-breakers/payments').expect(200)).body.total_successes).toBe(4);
  });

  it("registers on prom-client's default registry at start and removes the collectors at shutdown", async () => {
    const app = await createApp();
    expect(CIRCUIT_BREAKER_METRIC_NAMES.filter((n) => defaultPromRegistry.getSingleMetric(n) !== undefined)).toEqual([...CIRCUIT_BREAKER_METRIC_NAMES]);
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    expect(CIRCUIT_BREAKER_METRIC_NAMES.filter((n) => defaultPromRegistry.getSingleMetric(n) !== undefined)).toEqual([]);
    // The next application can register again.
    const next = await createApp();
    expect(valueOf(await scrape(next), 'circuit_breaker_state', { name: 'payments' })).toBe(0);
  });

  it('works on a custom registry, one per application, side by side in one process', async () => {
    const first = new Registry();
    const second = new Registry();
    const tripped = await createApp(first);
    const healthy = await createApp(second);
    await trip(tripped);
    await request(healthy.getHttpServer()).post('/charge').expect(201);

    expect(valueOf(await scrape(tripped), 'circuit_breaker_state', { name: 'payments' })).toBe(2);
    const other = await scrape(healthy);
    expect(valueOf(other, 'circuit_breaker_state', { name: 'payments' })).toBe(0);
    expect(valueOf(other, 'circuit_breaker_requests_total', { name: 'payments' })).toBe(1);
    expect(defaultPromRegistry.getSingleMetric('circuit_breaker_state')).toBeUndefined();
  });

  it('fails the boot of a second application on the same registry with a clear error', async () => {
    const shared = new Registry();
    await createApp(shared);
    await expect(createApp(shared)).rejects.toThrow(
      /already holds a metric named 'circuit_breaker_state'.*two applications in one process need a registry each/s,
    );
  });

  it('takes its options from forRootAsync, and times every call with observeCallDurations', async () => {
    const registry = new Registry();
    const app = await createApp(registry, CircuitBreakerMetricsModule.forRootAsync({
      useFactory: () => ({ registry, observeCallDurations: true, buckets: [0.5, 5] }),
    }));
    await trip(app);
    const samples = await scrape(app);
    // Two successes and three failures ran; the two rejected calls never did.
    expect(valueOf(samples, 'circuit_breaker_call_duration_seconds_count', { name: 'payments' })).toBe(5);
    expect(valueOf(samples, 'circuit_breaker_call_duration_seconds_bucket', { name: 'payments', le: '+Inf' })).toBe(5);
    expect(valueOf(samples, 'circuit_breaker_state', { name: 'payments' })).toBe(2);
  });

  it('rejects a registry option that is not a prom-client registry', async () => {
    await expect(createApp({ metrics: () => '' } as never)).rejects.toThrow(/registry: expected a prom-client Registry/);
  });

  describe('the main entry without prom-client', () => {
    const entry = resolve(ROOT, 'dist/index.js');
    const needBuild = () => {
      if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first (\`npm test\` does)`);
    };

    /** Imports `file` in a fresh Node process whose resolver throws on any import of prom-client. */
    async function importWithoutPromClient(file: string): Promise<string> {
      const hook = "export async function resolve(specifier, context, next) {"
        + " if (specifier === 'prom-client' || specifier.startsWith('prom-client/')) throw new Error('prom-client imported by ' + context.parentURL);"
        + ' return next(specifier, context); }';
      const script = "import { register } from 'node:module';"
        + `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`
        + `await import(${JSON.stringify(pathToFileURL(file).href)}); console.log('imported');`;
      try {
        const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
        return stdout.trim();
      } catch (error) {
        return String((error as { stderr?: string }).stderr ?? error);
      }
    }

    /** Every file reachable by static and dynamic imports from `entry`, and the packages they import. */
    function importGraph(start: string): { files: string[]; packages: Set<string> } {
      const files = new Set<string>();
      const packages = new Set<string>();
      const queue = [start];
      while (queue.length > 0) {
        const file = queue.pop()!;
        if (files.has(file)) continue;
        files.add(file);
        const code = readFileSync(file, 'utf8');
        for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
          const specifier = m[1]!;
          if (specifier.startsWith('.')) queue.push(resolve(dirname(file), specifier));
          else packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
        }
      }
      return { files: [...files], packages };
    }

    it('dist/index.js and its import graph never import prom-client', async () => {
      needBuild();
      const graph = importGraph(entry);
      expect(graph.files.length).toBeGreaterThan(20);
      expect(graph.packages).not.toContain('prom-client');
      expect(graph.files.filter((f) => f.includes('/prometheus/'))).toEqual([]);
      expect(await importWithoutPromClient(entry)).toBe('imported');
    });

    it('while the prometheus entry point does (the check can fail)', async () => {
      needBuild();
      const prometheus = resolve(ROOT, 'dist/prometheus/index.js');
      expect(importGraph(prometheus).packages).toContain('prom-client');
      expect(await importWithoutPromClient(prometheus)).toMatch(/prom-client imported by .*\/dist\/prometheus\/circuit-breaker-metrics\.js/);
    });
  });
});
