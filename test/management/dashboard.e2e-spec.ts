import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildSampleApp, type SampleAppProcess, startSampleApp } from '../support/sample-app-process.js';

// A real browser (Debian's chromium, driven by playwright-core) on the dashboard of the built sample
// app, running as a child process: the page must follow the breakers live, under its strict
// Content-Security-Policy, and its admin buttons must work. The test saves a screenshot to
// test/artifacts/dashboard.png; with UPDATE_SCREENSHOT=1 it writes docs/dashboard.png instead, the
// one the README shows (kept out of ordinary runs so that `npm test` leaves the tree clean).

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// Another Chromium or Chrome binary: CHROMIUM_PATH=/path/to/chrome npm test
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? join(ROOT, 'docs', 'dashboard.png') : join(ROOT, 'test', 'artifacts', 'dashboard.png');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** how soon a change must show on the page without a reload */
const LIVE_WITHIN_MS = 1_000;

const card = (name: string, state?: string) => `[data-name="${name}"]${state === undefined ? '' : `[data-state="${state}"]`}`;

describe('the live dashboard in a real browser', () => {
  const token = randomBytes(12).toString('hex');
  let app: SampleAppProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** console errors and CSP violations: the page must produce none */
  const problems: string[] = [];
  let navigations = 0;

  const call = (path: string, init?: RequestInit) => fetch(app!.baseUrl + path, init);
  const downstream = (change: { failureRate?: number }) =>
    call('/downstream/config', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(change) });
  const hit = async (path: string, times: number): Promise<number[]> => {
    const codes: number[] = [];
    for (let i = 0; i < times; i++) codes.push((await call(path)).status);
    return codes;
  };
  const stateOf = async (name: string): Promise<string> => ((await (await call(`/circuit-breakers/${name}`)).json()) as { state: string }).state;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}; this test drives a real browser: apt-get install chromium (.ci/run installs it), or set CHROMIUM_PATH to a Chromium or Chrome binary`);
    }
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/index.js is missing: run `npm run build` first (`npm test` does)');
    const main = await buildSampleApp('dashboard-sample-app');
    app = await startSampleApp(main, {
      CIRCUIT_BREAKER_ADMIN_TOKEN: token,
      // long open periods: no breaker moves on by itself while the test looks at it
      CIRCUIT_BREAKER__RECOMMENDATIONS__TIMEOUT: '120',
      CIRCUIT_BREAKER__CATALOG_LIST__TIMEOUT: '120',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('follows a breaker live, resets it with the admin token, and works under its Content-Security-Policy', async () => {
    const response = await page.goto(`${app!.baseUrl}/circuit-breakers/dashboard`);
    expect(response?.status()).toBe(200);
    // A strict policy: nothing inline runs unless its hash is listed (the console check below proves the page's are).
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[\w+/=]+'; style-src 'sha256-[\w+/=]+';/);
    expect(csp).not.toContain('unsafe');
    for (const name of ['catalog', 'catalog-list', 'recommendations']) await page.waitForSelector(card(name, 'closed'));
    await page.waitForSelector('#live.on', { timeout: 5_000 });

    // Some healthy traffic first, for the history on the cards.
    for (let round = 0; round < 3; round++) {
      await hit('/products/1', 12);
      await hit('/products', 6);
      await hit('/recommendations', 8);
      await page.waitForTimeout(2_000); // a refresh of the page's data, which samples the history
    }
    expect(await page.locator(`${card('recommendations')} .spark rect[class^="bar-"]`).count()).toBeGreaterThan(0);

    // Trip `recommendations` through the API: its card turns open at once, without a reload.
    expect(await page.getAttribute(card('recommendations'), 'data-state')).toBe('closed');
    await downstream({ failureRate: 1 });
    expect(await hit('/recommendations', 3)).toEqual([502, 502, 502]);
    const tripped = performance.now();
    await page.waitForSelector(card('recommendations', 'open'), { timeout: LIVE_WITHIN_MS });
    expect(performance.now() - tripped).toBeLessThan(LIVE_WITHIN_MS);
    // The reason comes only with the event stream's stateChange (snapshots do not carry it).
    await page.waitForSelector(`${card('recommendations')} .foot:has-text("threshold reached: 3/3")`, { timeout: LIVE_WITHIN_MS });
    await page.waitForSelector(`${card('recommendations')} .wait-text:text-matches("^Next retry in [0-9]")`, { timeout: LIVE_WITHIN_MS });
    expect(await hit('/recommendations', 2)).toEqual([503, 503]);
    await page.waitForSelector(`${card('recommendations')} .stat:has(dt:text-is("rejections")) dd:text-is("2")`, { timeout: 5_000 });

    // No admin buttons before a token is entered; a wrong token is refused and forgotten.
    expect(await page.isVisible(`${card('recommendations')} [data-action="reset"]`)).toBe(false);
    await page.fill('#token', 'not-the-token');
    await page.click('#auth button[type="submit"]');
    await page.click(`${card('recommendations')} [data-action="reset"]`);
    await page.waitForSelector('#toast.bad:has-text("Token rejected")');
    await page.waitForSelector('#token', { state: 'visible' });
    // The browser logs the refused request itself; that one line is expected.
    const refused = problems.findIndex((p) => /Failed to load resource: .* 401/.test(p));
    expect(refused).toBeGreaterThanOrEqual(0);
    problems.splice(refused, 1);
    expect(await stateOf('recommendations')).toBe('open');

    // The right token: reset closes the breaker, and the card follows.
    await page.fill('#token', token);
    await page.click('#auth button[type="submit"]');
    expect(await page.evaluate("sessionStorage.getItem('circuit-breakers.admin-token')")).toBe(token);
    await page.click(`${card('recommendations')} [data-action="reset"]`);
    await page.waitForSelector(card('recommendations', 'closed'), { timeout: LIVE_WITHIN_MS });
    expect(await stateOf('recommendations')).toBe('closed');

    // Force open asks for a second press, then holds the breaker open.
    await page.click(`${card('catalog')} [data-action="force-open"]`);
    expect(await stateOf('catalog')).toBe('closed');
    await page.click(`${card('catalog')} [data-action="force-open"]`);
    await page.waitForSelector(card('catalog', 'forced_open'), { timeout: LIVE_WITHIN_MS });
    expect(await stateOf('catalog')).toBe('forced_open');

    // A scene for the README: catalog-list open and counting down, catalog forced open, recommendations back in service.
    expect(await hit('/products', 3)).toEqual([502, 502, 502]);
    await page.waitForSelector(card('catalog-list', 'open'), { timeout: LIVE_WITHIN_MS });
    await downstream({ failureRate: 0 });
    await hit('/products', 4);
    await hit('/recommendations', 10);
    await page.waitForTimeout(2_200); // one more refresh for the history
    expect(await page.textContent('#health')).toBe('degraded');
    expect(await page.textContent('#sum-open')).toBe('1');
    expect(await page.textContent('#sum-forced_open')).toBe('1');
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    const grid = await page.locator('#grid').boundingBox();
    await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1600, height: Math.min(1000, Math.ceil(grid!.y + grid!.height + 24)) } });

    expect(navigations).toBe(1);
    expect(problems).toEqual([]);
  }, 120_000);
});
