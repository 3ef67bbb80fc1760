import { afterEach, describe, expect, it } from '@jest/globals';
import { Counter, Registry } from 'prom-client';
import { Breaker } from '../core/index.js';
import { FakeClock } from '../testing/fake-clock.js';
import { joinPieces, turnsDuring } from '../../test/support/async-pieces.js';
import { registerCircuitBreakerMetrics } from './circuit-breaker-metrics.js';
import { circuitBreakerMetricsStream, circuitBreakerMetricsText, METRICS_SLICE } from './metrics-text.js';

/** Breakers outside Nest, in insertion order, with any names (a bare source does not check them). */
class Breakers {
  readonly map = new Map<string, Breaker>();
  private readonly created = new Set<(breaker: Breaker) => void>();
  readonly clock = new FakeClock();

  add(name: string): Breaker {
    const breaker = new Breaker(name, { clock: this.clock, failureThreshold: 2 });
    this.map.set(name, breaker);
    for (const listener of this.created) listener(breaker);
    return breaker;
  }
  names(): string[] {
    return [...this.map.keys()];
  }
  get(name: string): Breaker | undefined {
    return this.map.get(name);
  }
  onBreakerCreated(listener: (breaker: Breaker) => void): () => void {
    this.created.add(listener);
    return () => this.created.delete(listener);
  }
}

const collect = joinPieces;

/** n breakers in every state, with calls (timed by the histogram) on most of them. */
async function fleet(n: number) {
  const breakers = new Breakers();
  const prom = new Registry();
  const unregister = registerCircuitBreakerMetrics(breakers, prom);
  for (let i = 0; i < n; i++) {
    const b = breakers.add(`tenant-${i}`);
    if (i % 3 === 0) await b.execute(async () => 'ok');
    if (i % 7 === 0) for (let k = 0; k < 2; k++) await b.execute(async () => Promise.reject(new Error('down'))).catch(() => undefined);
    if (i % 11 === 0) b.forceOpen();
    if (i % 13 === 0) b.disable();
  }
  return { breakers, prom, unregister };
}

describe('circuitBreakerMetricsText: the registry text, streamed in slices', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('is exactly the text of prom-client’s registry.metrics(), other metrics and default labels included', async () => {
    const { breakers, prom, unregister } = await fleet(40);
    cleanups.push(unregister);
    // names that need escaping in a label value, and a HELP text with a backslash and a newline
    const odd = breakers.add('quote"back\\slash\nnewline');
    await odd.execute(async () => 1);
    const own = new Counter({ name: 'app_orders_total', help: 'Orders \\ placed\nper shop', labelNames: ['shop'], registers: [prom] });
    own.inc({ shop: 'north' }, 3);
    prom.setDefaultLabels({ service: 'checkout', region: 'eu "west"' });

    const expected = await prom.metrics();
    const { text } = await collect(circuitBreakerMetricsText(prom));
    expect(text).toBe(expected);
    // the check can fail: the text has what it must
    expect(text).toContain('circuit_breaker_state{name="tenant-11",service="checkout",region="eu \\"west\\""} 3');
    expect(text).toContain('name="quote\\"back\\\\slash\\nnewline"');
    expect(text).toContain('circuit_breaker_call_duration_seconds_count{name="tenant-3"');
    expect(text).toContain('app_orders_total{shop="north",service="checkout",region="eu \\"west\\""} 3');
  });

  it('gives the event loop a turn between slices of breakers, and stays equal to registry.metrics() across slices', async () => {
    const n = 2 * METRICS_SLICE + 7;
    const { prom, unregister } = await fleet(n);
    cleanups.push(unregister);
    const expected = await prom.metrics();
    const { result: { text, pieces }, turns } = await turnsDuring(() => collect(circuitBreakerMetricsText(prom)));
    expect(text).toBe(expected);
    // 3 slices to read, 3 per reading metric (9 of them) and the histogram's: turns in between
    expect(pieces).toBeGreaterThan(9 * 3);
    expect(turns).toBeGreaterThan(9 * 3);
  });

  it('as a Node stream, and for the OpenMetrics content type or a registry without our metrics, is registry.metrics() itself', async () => {
    const { prom, unregister } = await fleet(5);
    cleanups.push(unregister);
    let streamed = '';
    for await (const chunk of circuitBreakerMetricsStream(prom)) streamed += String(chunk);
    expect(streamed).toBe(await prom.metrics());

    (prom as unknown as Registry<typeof Registry.OPENMETRICS_CONTENT_TYPE>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const open = await collect(circuitBreakerMetricsText(prom));
    expect(open).toEqual({ text: await prom.metrics(), pieces: 1 });
    expect(open.text).toContain('# EOF');

    const plain = new Registry();
    new Counter({ name: 'other_total', help: 'other', registers: [plain] }).inc();
    expect(await collect(circuitBreakerMetricsText(plain))).toEqual({ text: await plain.metrics(), pieces: 1 });
  });

  it('after unregistering, streams what the registry then holds', async () => {
    const { prom, unregister } = await fleet(3);
    unregister();
    const { text } = await collect(circuitBreakerMetricsText(prom));
    expect(text).toBe(await prom.metrics());
    expect(text).not.toContain('circuit_breaker_');
  });
});
