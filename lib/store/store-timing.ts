import type { Breaker, SharedTransition } from '../core/index.js';

/**
 * How long a `closed` or `reset` record stays in the store. It only orders transitions (last writer
 * wins) after an outage; without it a breaker starts closed, which is the same thing.
 */
const SETTLED_RECORD_TTL_MS = 24 * 60 * 60 * 1_000;

export const TIMED_OUT: unique symbol = Symbol('timed out');

/** Resolves undefined when `run()` settles within `ms`, `TIMED_OUT` after `ms`, `{ error }` when it fails. Never rejects. */
export function within(ms: number, run: () => Promise<void>): Promise<undefined | typeof TIMED_OUT | { error: unknown }> {
  return new Promise((resolve) => {
    // Timers run before I/O in each turn of the event loop: after a stall, an answer that arrived in
    // time is still unread when the timer fires. One more turn lets it through before the verdict.
    const timer = setTimeout(() => setImmediate(() => resolve(TIMED_OUT)), ms);
    timer.unref?.();
    let running: Promise<void>;
    try {
      running = run();
    } catch (error) {
      running = Promise.reject(error);
    }
    // A late outcome is dropped: the first resolve wins.
    running.then(
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ error });
      },
    );
  });
}

/** How long the shared record of a transition lives: an open one until its open period ends plus the half-open timeout. */
export function ttlOf(breaker: Breaker, transition: SharedTransition): number | null {
  switch (transition.state) {
    case 'open':
      return Math.max(0, (transition.openUntil ?? 0) - Date.now()) + breaker.options.halfOpenTimeoutMs;
    case 'forced_open':
    case 'disabled':
      return null; // held until a reset
    default:
      return SETTLED_RECORD_TTL_MS;
  }
}

/** Errors that retrying soon will not fix (a key of another type, a script the server refuses). */
export function isPermanentStoreError(error: unknown): boolean {
  const message = String((error as Error | null)?.message ?? error);
  return /\bWRONGTYPE\b/.test(message);
}

/** A timer that does not keep the process alive. */
export function unrefTimer(ms: number, run: () => void): ReturnType<typeof setTimeout> {
  const timer = setTimeout(run, ms);
  timer.unref?.();
  return timer;
}
