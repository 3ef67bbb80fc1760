import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type SampleAppProcess, startSampleApp } from '../support/sample-app-process.js';

// Starts the BUILT sample app the way `npm start` does (the steps of `scripts.start` after
// `npm run build`, which `npm test` has already run), on a free port, and runs the README's curl
// walkthrough over real HTTP: every curl line below must appear verbatim in the README's
// "Quick start: the sample app" section, and is executed as written (against the real port).

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const README_PORT = 'localhost:3000';

/** The walkthrough of the sample app (docs/sample-app.md, linked from the README). */
function walkthroughSection(): string {
  const page = readFileSync(join(ROOT, 'docs', 'sample-app.md'), 'utf8');
  if (!page.includes('npm start')) throw new Error('docs/sample-app.md has no walkthrough (no `npm start`)');
  return page;
}

/** `npm start` minus its `npm run build` step: the commands to build and to run the sample app. */
function startSteps(): { build: string[]; run: string[] } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const steps = pkg.scripts.start!.split('&&').map((s) => s.trim());
  expect(steps[0]).toBe('npm run build');
  const run = steps.at(-1)!.split(/\s+/);
  expect(run[0]).toBe('node');
  return { build: steps.slice(1, -1), run: run.slice(1) };
}

/** Splits a shell line into words (single and double quotes, `#` comments), enough for the README's curl lines. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(#.*$)|(\S+)/g;
  for (const m of line.matchAll(re)) {
    if (m[3] !== undefined) break;
    out.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[4]!);
  }
  return out;
}

interface CurlResult {
  status: number;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Starts the built sample app with the command `npm start` ends with (no admin token unless `env` sets one). */
function startApp(env: Record<string, string>): Promise<SampleAppProcess> {
  return startSampleApp(join(ROOT, startSteps().run[0]!), { CIRCUIT_BREAKER_ADMIN_TOKEN: '', ...env });
}

/** Runs one README curl line (`curl [-s] [-i] [-X M] [-H h] [-d body] [-o f] [-w fmt] localhost:3000/path`). */
async function curl(app: SampleAppProcess, line: string): Promise<CurlResult> {
  const args = words(line);
  expect(args[0]).toBe('curl');
  let method = 'GET';
  let body: string | undefined;
  const headers: Record<string, string> = {};
  let url: string | undefined;
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-X') method = args[++i]!;
    else if (arg === '-H') {
      const [name, ...value] = args[++i]!.split(':');
      headers[name!.trim()] = value.join(':').trim();
    } else if (arg === '-d') {
      body = args[++i]!;
      if (method === 'GET') method = 'POST';
    } else if (arg === '-o' || arg === '-w') i++;
    else if (/^-[si]+$/.test(arg)) continue;
    else if (arg.startsWith(README_PORT)) url = app.baseUrl + arg.slice(README_PORT.length);
    else throw new Error(`unsupported curl argument ${arg} in: ${line}`);
  }
  if (url === undefined) throw new Error(`no ${README_PORT} URL in: ${line}`);
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

describe('the sample app, built and started as `npm start` does', () => {
  let section: string;
  let app: SampleAppProcess | undefined;

  /** Asserts `line` is in the README walkthrough, then runs it. */
  const step = (line: string) => {
    expect(section).toContain(line);
    return curl(app!, line);
  };

  beforeAll(() => {
    section = walkthroughSection();
    const { build } = startSteps();
    const env = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
    for (const command of build) execFileSync('sh', ['-c', command], { cwd: ROOT, env, stdio: 'pipe' });
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
  });

  it('starts on PORT, prints where it listens and which admin token it uses', async () => {
    app = await startApp({});
    expect(app.output()).toContain('Sample app listening on http://localhost:');
    expect(app.output()).toContain('CIRCUIT_BREAKER_ADMIN_TOKEN is not set');
    expect(app.output()).toContain('"sample-admin-token"');
    expect(section).toContain('npm start');
  });

  it('runs the README walkthrough: fail the downstream, the breaker opens, readiness turns 503, reset it', async () => {
    // 1. All is well
    const products = await step('curl -s localhost:3000/products');
    expect(products.status).toBe(200);
    expect(products.json).toHaveLength(3);
    expect((await step('curl -s localhost:3000/products/1')).json).toMatchObject({ id: 1, name: 'Espresso machine' });
    expect((await curl(app!, 'curl -s localhost:3000/health')).status).toBe(200);
    expect((await step('curl -si localhost:3000/health/detailed')).status).toBe(200);

    // 2. Make the catalog service fail every request
    const config = await step(`curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"failureRate": 1}'`);
    expect(config.status).toBe(200);
    expect(config.json).toEqual({ failureRate: 1, latencyMs: 0, carriersDown: [] });

    // 3. Three failures open the breaker; the fourth call is rejected at once
    const loop = `for i in 1 2 3 4; do curl -s -o /dev/null -w '%{http_code}\\n' localhost:3000/products; done`;
    expect(section).toContain(loop);
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await curl(app!, "curl -s -o /dev/null -w '%{http_code}\\n' localhost:3000/products")).status);
    expect(codes).toEqual([502, 502, 502, 503]);

    const rejected = await step('curl -si localhost:3000/products');
    expect(rejected.status).toBe(503);
    expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(rejected.json).toMatchObject({ statusCode: 503, breaker: 'catalog-list', circuit_state: 'open' });

    const fallback = await step('curl -s localhost:3000/products/1');
    expect(fallback.status).toBe(200);
    expect(fallback.json).toMatchObject({ id: 1, stale: true });

    // 4. The management API and readiness show it
    const list = await step('curl -s localhost:3000/circuit-breakers');
    expect(list.status).toBe(200);
    expect(list.json.summary).toMatchObject({ total_breakers: 6, open: 1, health: 'degraded' });
    expect(list.json.breakers['catalog-list']).toMatchObject({ state: 'open', total_failures: 3, total_rejections: 2 });

    const unready = await step('curl -si localhost:3000/health/detailed');
    expect(unready.status).toBe(503);
    expect(unready.json.error.circuit_breakers.breakers['catalog-list']).toMatchObject({ state: 'open', failure_count: 0 });
    expect((await curl(app!, 'curl -s localhost:3000/health')).status).toBe(200); // liveness is unaffected

    // 5. Heal the catalog and reset the breaker (a write: it needs the admin token)
    expect((await step(`curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"failureRate": 0}'`)).status).toBe(200);
    expect((await step('curl -s -X POST localhost:3000/circuit-breakers/catalog-list/reset')).status).toBe(401);
    const reset = await step(`curl -s -X POST localhost:3000/circuit-breakers/catalog-list/reset -H 'Authorization: Bearer sample-admin-token'`);
    expect(reset.status).toBe(200);
    expect(reset.json).toMatchObject({ name: 'catalog-list', state: 'closed', total_requests: 0 });
    expect((await step('curl -si localhost:3000/health/detailed')).status).toBe(200);
    expect((await step('curl -s localhost:3000/products')).status).toBe(200);
  });

  it('serves the route-level breaker and the dashboard; the downstream latency changes at runtime', async () => {
    expect((await curl(app!, 'curl -s localhost:3000/recommendations')).json).toHaveLength(2);
    await curl(app!, `curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"latencyMs": 300}'`);
    const started = performance.now();
    expect((await curl(app!, 'curl -s localhost:3000/recommendations')).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    await curl(app!, `curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"latencyMs": 0}'`);
    const dashboard = await curl(app!, 'curl -s localhost:3000/circuit-breakers/dashboard');
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('content-type')).toMatch(/^text\/html/);
    const bad = await curl(app!, `curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"failureRate": 2}'`);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('failureRate must be a number from 0 to 1, got 2');
  });

  it('runs the README shipping flow: retry inside the breaker, then the fallback chain\'s tiers', async () => {
    const quote = () => step('curl -s localhost:3000/products/1/shipping');
    const express = () => step('curl -s localhost:3000/circuit-breakers/carrier-express');
    expect((await quote()).json).toEqual({ carrier: 'express', priceCents: 1490, days: 1 });

    expect((await step(`curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"carriersDown": ["express"]}'`)).status).toBe(200);
    expect(section).toContain('for i in 1 2 3; do curl -s localhost:3000/products/1/shipping; echo; done');
    for (let i = 0; i < 3; i++) expect((await quote()).json).toEqual({ carrier: 'standard', priceCents: 590, days: 4 });
    // three requests of three attempts each: three calls of the breaker, which opens at its threshold (3)
    expect((await express()).json).toMatchObject({ state: 'open', total_successes: 1, total_failures: 3, total_requests: 4 });
    expect((await quote()).json).toMatchObject({ carrier: 'standard' });
    expect((await express()).json).toMatchObject({ state: 'open', total_failures: 3, total_rejections: 1 });

    await step(`curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"carriersDown": ["express", "standard"]}'`);
    for (let i = 0; i < 3; i++) expect((await quote()).json).toEqual({ carrier: 'flat-rate', priceCents: 990, days: 5 });
    const standard = await curl(app!, 'curl -s localhost:3000/circuit-breakers/carrier-standard');
    expect(standard.json).toMatchObject({ state: 'open', total_failures: 3 });
    expect((await quote()).json).toMatchObject({ carrier: 'flat-rate' });
    expect((await curl(app!, 'curl -s localhost:3000/circuit-breakers/carrier-standard')).json).toMatchObject({ total_failures: 3, total_rejections: 1 });

    const bad = await curl(app!, `curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"carriersDown": ["drone"]}'`);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('carriersDown must be a list of carriers among');
    await curl(app!, `curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"carriersDown": []}'`);
  });

  it('takes breaker settings from CIRCUIT_BREAKER_* variables, and the admin token from CIRCUIT_BREAKER_ADMIN_TOKEN', async () => {
    await app?.stop();
    app = await startApp({ CIRCUIT_BREAKER__RECOMMENDATIONS__FAILURE_THRESHOLD: '7', CIRCUIT_BREAKER_TIMEOUT: '42', CIRCUIT_BREAKER_ADMIN_TOKEN: 'from-env' });
    expect(app.output()).not.toContain('CIRCUIT_BREAKER_ADMIN_TOKEN is not set');
    await curl(app, 'curl -s localhost:3000/recommendations');
    await curl(app, 'curl -s localhost:3000/products');
    const list = await curl(app, 'curl -s localhost:3000/circuit-breakers');
    expect(list.json.breakers.recommendations.failure_threshold).toBe(7);
    expect(list.json.breakers['catalog-list'].failure_threshold).toBe(3);
    await curl(app, `curl -s -X POST localhost:3000/downstream/config -H 'Content-Type: application/json' -d '{"failureRate": 1}'`);
    for (let i = 0; i < 4; i++) await curl(app, 'curl -s localhost:3000/products');
    expect(Number((await curl(app, 'curl -s localhost:3000/products')).headers.get('retry-after'))).toBe(42);
    expect((await curl(app, `curl -s -X POST localhost:3000/circuit-breakers/reset-all -H 'Authorization: Bearer sample-admin-token'`)).status).toBe(401);
    expect((await curl(app, `curl -s -X POST localhost:3000/circuit-breakers/reset-all -H 'Authorization: Bearer from-env'`)).status).toBe(200);
  });

  it('fails the boot on a malformed variable, naming it, the value and what is expected', async () => {
    await app?.stop();
    app = undefined;
    await expect(startApp({ CIRCUIT_BREAKER_FAILURE_THRESHOLD: 'abc' })).rejects.toThrow(/CIRCUIT_BREAKER_FAILURE_THRESHOLD[\s\S]*abc[\s\S]*integer >= 1/);
  });
});
