import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, type INestApplication, Post } from '@nestjs/common';
import request from 'supertest';
import { CircuitBreakerModule } from '../../lib/index.js';
import { createObservedApp, parseScrape, type Sample } from '../fixtures/observed-app.js';
import { buildSampleApp, type SampleAppProcess, startSampleApp } from '../support/sample-app-process.js';
import { promqlNames } from './promql-names.js';
import { PaymentGateway } from '../fixtures/payment-gateway.js';

const GRAFANA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'grafana');
/** Labels Prometheus adds to every scraped series (the target's): never in /metrics itself. */
const TARGET_LABELS = new Set(['instance', 'job']);


@Controller()
class ShopController {
  constructor(private readonly gateway: PaymentGateway) {}

  @Post('charge')
  charge() {
    return this.gateway.charge();
  }
}

interface Expression {
  where: string;
  expr: string;
}

function dashboardExpressions(): Expression[] {
  const dashboard = JSON.parse(readFileSync(resolve(GRAFANA, 'circuit-breakers.dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { name: string; query: { query: string } }[] };
  };
  return [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr }))),
    ...dashboard.templating.list.map((v) => ({ where: `dashboard variable $${v.name}`, expr: v.query.query })),
  ];
}

function ruleExpressions(): Expression[] {
  const text = readFileSync(resolve(GRAFANA, 'circuit-breakers.rules.yml'), 'utf8');
  const alerts = [...text.matchAll(/^\s*- alert: (\S+)$/gm)].map((m) => m[1]!);
  const exprs = [...text.matchAll(/^\s*expr: (.+)$/gm)].map((m) => m[1]!);
  // One single-line expr per alert: a multi-line one would slip past this check.
  expect(exprs).toHaveLength(alerts.length);
  return alerts.map((alert, i) => ({ where: `alert ${alert}`, expr: exprs[i]! }));
}

/** Each metric or label of `expr` missing from the scrape, with where it is used. */
function missingNames(samples: Sample[], { where, expr }: Expression): string[] {
  const { metrics, labels } = promqlNames(expr);
  const problems: string[] = [];
  const used = samples.filter((s) => metrics.has(s.name));
  for (const metric of metrics) if (!samples.some((s) => s.name === metric)) problems.push(`${where}: metric ${metric} is not in /metrics`);
  const known = new Set(used.flatMap((s) => Object.keys(s.labels)));
  for (const label of labels) {
    if (!TARGET_LABELS.has(label) && !known.has(label)) problems.push(`${where}: label ${label} is on none of ${[...metrics].join(', ')} in /metrics`);
  }
  return problems;
}

describe('docs/grafana: the dashboard and the alert rules use only names of the real /metrics output', () => {
  let app: INestApplication;
  let samples: Sample[];

  beforeAll(async () => {
    ({ app } = await createObservedApp({
      circuitBreakers: CircuitBreakerModule.forRoot({ breakers: { payments: { failureThreshold: 2, resetTimeoutMs: 60_000 } } }),
      controllers: [ShopController],
      providers: [PaymentGateway],
    }));
    const server = app.getHttpServer();
    for (let i = 0; i < 3; i++) await request(server).post('/charge').expect(201);
    app.get(PaymentGateway).failing = true;
    for (let i = 0; i < 2; i++) await request(server).post('/charge').expect(500); // opens
    await request(server).post('/charge').expect(503);
    samples = parseScrape((await request(server).get('/metrics').expect(200)).text);
  });

  afterAll(async () => {
    await app.close();
  });

  it('the scrape after an opening has the series the panels and alerts read', () => {
    const value = (name: string, labels: Record<string, string>) => samples.find((s) => s.name === name
      && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('circuit_breaker_state_info', { name: 'payments', state: 'open' })).toBe(1);
    expect(value('circuit_breaker_state_info', { name: 'payments', state: 'closed' })).toBe(0);
    expect(value('circuit_breaker_state_transitions_total', { name: 'payments', from: 'closed', to: 'open' })).toBe(1);
    expect(value('circuit_breaker_rejections_total', { name: 'payments' })).toBe(1);
    expect(value('circuit_breaker_call_duration_seconds_bucket', { name: 'payments', le: '+Inf' })).toBe(5);
  });

  it('every metric and label name in the dashboard exists in the scrape', () => {
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThanOrEqual(10);
    const used = new Set(expressions.flatMap((e) => [...promqlNames(e.expr).metrics]));
    expect([...used].sort()).toEqual([
      'circuit_breaker_call_duration_seconds_bucket',
      'circuit_breaker_failures_total',
      'circuit_breaker_rejections_total',
      'circuit_breaker_requests_total',
      'circuit_breaker_state_info',
      'circuit_breaker_state_transitions_total',
      'circuit_breaker_successes_total',
      'circuit_breaker_timeouts_total',
    ]);
    expect(expressions.flatMap((e) => missingNames(samples, e))).toEqual([]);
  });

  it('every metric and label name in the alert rules exists in the scrape', () => {
    const expressions = ruleExpressions();
    expect(expressions.map((e) => e.where)).toEqual(['alert CircuitBreakerOpenTooLong', 'alert CircuitBreakerFlapping', 'alert CircuitBreakerRejectionsHigh']);
    expect(expressions.flatMap((e) => missingNames(samples, e))).toEqual([]);
  });

  it('the check fails for a renamed metric or label (it reads the names, not just the file)', () => {
    expect(missingNames(samples, { where: 'x', expr: 'sum by (name, state) (circuit_breaker_state_infos{instance=~"$instance"})' }))
      .toEqual(['x: metric circuit_breaker_state_infos is not in /metrics', 'x: label name is on none of circuit_breaker_state_infos in /metrics', 'x: label state is on none of circuit_breaker_state_infos in /metrics']);
    expect(missingNames(samples, { where: 'y', expr: 'histogram_quantile(0.99, sum by (breaker, le) (rate(circuit_breaker_call_duration_seconds_bucket[5m])))' }))
      .toEqual(['y: label breaker is on none of circuit_breaker_call_duration_seconds_bucket in /metrics']);
    expect(promqlNames('label_values(circuit_breaker_state_info{instance=~"$instance"}, name)')).toEqual({
      metrics: new Set(['circuit_breaker_state_info']),
      labels: new Set(['instance', 'name']),
    });
    const failureRate = promqlNames('sum by (name) (rate(circuit_breaker_failures_total{name=~"$name"}[$__rate_interval])) / sum by (name) (rate(circuit_breaker_requests_total[5m])) > 0.5');
    expect([...failureRate.metrics].sort()).toEqual(['circuit_breaker_failures_total', 'circuit_breaker_requests_total']);
  });
});

describe('docs/grafana against the sample app: its real /metrics after the catalog breaker opened', () => {
  let app: SampleAppProcess | undefined;
  let samples: Sample[];

  beforeAll(async () => {
    app = await startSampleApp(await buildSampleApp('grafana-sample-app'), { CIRCUIT_BREAKER_ADMIN_TOKEN: '' });
    const call = async (path: string, init?: RequestInit) => (await fetch(app!.baseUrl + path, init)).status;
    expect(await call('/products')).toBe(200);
    expect(await call('/downstream/config', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ failureRate: 1 }) })).toBe(200);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push(await call('/products'));
    expect(codes).toEqual([502, 502, 502, 503]);
    const metrics = await fetch(`${app.baseUrl}/metrics`);
    expect(metrics.status).toBe(200);
    samples = parseScrape(await metrics.text());
  }, 90_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('has every metric and label name of the dashboard and of the alert rules', () => {
    expect(samples.find((s) => s.name === 'circuit_breaker_state_info' && s.labels.name === 'catalog-list' && s.labels.state === 'open')?.value).toBe(1);
    expect([...dashboardExpressions(), ...ruleExpressions()].flatMap((e) => missingNames(samples, e))).toEqual([]);
  });
});
