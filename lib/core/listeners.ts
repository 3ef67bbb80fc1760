import type { BreakerEventMap, BreakerEventName, BreakerListener, BreakerLogger } from './events.js';

/** A breaker's listeners by event; an event without listeners has no entry. */
export type ListenerMap = { [E in BreakerEventName]?: BreakerListener<E>[] };

/**
 * Adds `listener` (copy on write: an emit in progress keeps iterating the array it started with) and
 * returns the function that removes it again; `changed` runs after each change.
 */
export function addListener<E extends BreakerEventName>(map: ListenerMap, event: E, listener: BreakerListener<E>, changed: () => void): () => void {
  const all = map as Record<string, unknown[] | undefined>;
  all[event] = [...(all[event] ?? []), listener];
  changed();
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    const list = all[event];
    const i = list ? list.indexOf(listener) : -1;
    if (i < 0) return;
    const next = [...list!.slice(0, i), ...list!.slice(i + 1)];
    all[event] = next.length > 0 ? next : undefined;
    changed();
  };
}

/** How many listeners `map` holds, for one event or for all. */
export function countListeners(map: ListenerMap | null, event?: BreakerEventName): number {
  if (map === null) return 0;
  if (event !== undefined) return map[event]?.length ?? 0;
  let n = 0;
  for (const list of Object.values(map)) n += list?.length ?? 0;
  return n;
}

/** Calls every listener of `list`; a listener that throws is logged and changes nothing else. */
export function emit<E extends BreakerEventName>(list: readonly BreakerListener<E>[], event: BreakerEventMap[E], logger: BreakerLogger, name: string): void {
  for (let i = 0; i < list.length; i++) {
    try {
      list[i]!(event);
    } catch (error) {
      logger.error(`Circuit breaker '${name}': a listener threw; the call and the state are unaffected`, error);
    }
  }
}
