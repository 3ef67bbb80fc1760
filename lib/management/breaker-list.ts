import { Readable } from 'node:stream';
import type { Breaker, CircuitBreakerSnapshot, CircuitState } from '../core/index.js';
import { fleetHealth } from '../registry/circuit-breaker.registry.js';

/** What a listing reads of the registry. */
type Breakers = { names(): Iterable<string>; get(name: string): Breaker | undefined };

/**
 * Breakers per slice of a streamed list: a slice is read and written in one go (about 1–2 ms), and
 * the event loop gets a turn between two slices.
 */
export const LIST_SLICE = 500;

type Summary = { total_breakers: number } & Record<CircuitState, number>;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The JSON of `GET <management.path>` — `{ timestamp, breakers: { <name>: snapshot }, summary }`, the
 * registry's snapshot — written {@link LIST_SLICE} breakers at a time with a turn of the event loop
 * between slices, so that listing thousands of breakers never holds up other requests for long.
 * With `states`, `breakers` holds only the breakers in those states (their snapshots are the only
 * ones taken); the summary counts every breaker, as read during this listing. Each breaker is read
 * once: its entry and its count in the summary agree.
 */
export async function* breakerListJson(registry: Breakers, states?: ReadonlySet<CircuitState>): AsyncGenerator<string> {
  const names = Array.from(registry.names());
  const summary: Summary = { total_breakers: 0, open: 0, half_open: 0, closed: 0, forced_open: 0, disabled: 0 };
  yield `{"timestamp":${JSON.stringify(new Date().toISOString())},"breakers":{`;
  let separator = '';
  for (let i = 0; i < names.length; i += LIST_SLICE) {
    if (i > 0) await nextTurn();
    let out = '';
    for (let j = i; j < Math.min(i + LIST_SLICE, names.length); j++) {
      const breaker = registry.get(names[j]!);
      if (breaker === undefined) continue; // removed since the listing began
      let snapshot: CircuitBreakerSnapshot | null = null;
      let state: CircuitState;
      if (states === undefined) state = (snapshot = breaker.snapshot()).state;
      else {
        state = breaker.state;
        if (states.has(state)) snapshot = breaker.snapshot();
      }
      summary.total_breakers++;
      summary[state]++;
      if (snapshot === null) continue;
      out += `${separator}${JSON.stringify(names[j])}:${JSON.stringify(snapshot)}`;
      separator = ',';
    }
    if (out !== '') yield out;
  }
  yield `},"summary":${JSON.stringify({ ...summary, health: fleetHealth(summary) })}}`;
}

/** {@link breakerListJson} as a Node stream (UTF-8 text). */
export function breakerListStream(registry: Breakers, states?: ReadonlySet<CircuitState>): Readable {
  return Readable.from(breakerListJson(registry, states), { objectMode: false, encoding: 'utf8' });
}
