import { describe, expect, it } from '@jest/globals';
import { Breaker, type CircuitState } from '../core/index.js';
import { FakeClock } from '../testing/fake-clock.js';
import { fleetHealth } from '../registry/circuit-breaker.registry.js';
import { joinPieces, turnsDuring } from '../../test/support/async-pieces.js';
import { breakerListJson, breakerListStream, LIST_SLICE } from './breaker-list.js';

/** n breakers with a mix of states and calls, as the registry's `names()` / `get()` give them. */
async function registryOf(n: number) {
  const clock = new FakeClock();
  const map = new Map<string, Breaker>();
  for (let i = 0; i < n; i++) {
    const b = new Breaker(`tenant-${i}`, { clock, failureThreshold: 1 });
    map.set(b.name, b);
    if (i % 2 === 0) await b.execute(async () => 'ok');
    if (i % 5 === 0) await b.execute(async () => Promise.reject(new Error('down'))).catch(() => undefined);
    if (i % 9 === 0) b.forceOpen();
  }
  return { names: () => map.keys(), get: (name: string) => map.get(name), map };
}

async function text(pieces: AsyncIterable<string>) {
  const { text: out, pieces: count } = await joinPieces(pieces);
  return { json: JSON.parse(out) as { timestamp: string; breakers: Record<string, { state: CircuitState }>; summary: Record<string, unknown> }, count };
}

describe('breakerListJson: the management list, written in slices', () => {
  it('is the registry snapshot: every breaker’s snapshot and the summary of the states', async () => {
    const registry = await registryOf(30);
    const { json } = await text(breakerListJson(registry));
    expect(Object.keys(json.breakers)).toEqual([...registry.map.keys()]);
    // (the *_at times of a FakeClock breaker follow the wall clock between two reads: not compared)
    const withoutTimes = (snapshot: object) => Object.fromEntries(Object.entries(snapshot).filter(([key]) => !key.endsWith('_at')));
    for (const [name, breaker] of registry.map) expect(withoutTimes(json.breakers[name]!)).toEqual(withoutTimes(breaker.snapshot()));
    // 30 breakers: 0, 5, …, 25 opened (6); 0, 9, 18, 27 forced open (4, of which 0 was open)
    expect(json.summary).toEqual({ total_breakers: 30, open: 5, half_open: 0, closed: 21, forced_open: 4, disabled: 0, health: 'degraded' });
    expect(Date.parse(json.timestamp)).not.toBeNaN();
  });

  it('with states, holds only those breakers, while the summary counts every breaker', async () => {
    const registry = await registryOf(30);
    const { json } = await text(breakerListJson(registry, new Set<CircuitState>(['forced_open'])));
    expect(Object.keys(json.breakers)).toEqual(['tenant-0', 'tenant-9', 'tenant-18', 'tenant-27']);
    expect(json.summary.total_breakers).toBe(30);
    expect((await text(breakerListJson(registry, new Set<CircuitState>(['half_open'])))).json.breakers).toEqual({});
  });

  it('gives the event loop a turn between slices', async () => {
    const registry = await registryOf(3 * LIST_SLICE + 1);
    const { result: { json, count }, turns } = await turnsDuring(() => text(breakerListJson(registry)));
    expect(Object.keys(json.breakers)).toHaveLength(3 * LIST_SLICE + 1);
    expect(count).toBe(1 + 4 + 1); // the head, 4 slices, the summary
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('as a stream, and with no breakers', async () => {
    let out = '';
    for await (const chunk of breakerListStream({ names: () => [], get: () => undefined })) out += String(chunk);
    expect(JSON.parse(out)).toMatchObject({ breakers: {}, summary: { total_breakers: 0, health: 'healthy' } });
  });

  it('fleetHealth: healthy, degraded, unhealthy', () => {
    const base = { total_breakers: 2, open: 0, half_open: 0, closed: 2, forced_open: 0, disabled: 0 };
    expect(fleetHealth(base)).toBe('healthy');
    expect(fleetHealth({ ...base, closed: 1, half_open: 1 })).toBe('degraded');
    expect(fleetHealth({ ...base, closed: 0, open: 1, forced_open: 1 })).toBe('unhealthy');
    expect(fleetHealth({ ...base, total_breakers: 0, closed: 0 })).toBe('healthy');
  });
});
