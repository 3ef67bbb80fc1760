// Measuring primitives: compiled per-subject benchmark functions, mitata's sampler, medians, heap.

import { measure } from 'mitata';

/** An error allocated once, so a failing call costs the breaker's work, not a stack capture. */
export const ERR = new Error('bench failure');
export const noop = async () => {};
export const failing = async () => {
  throw ERR;
};

/**
 * Compiles `body` (source text returning the function to measure) into a fresh function. Every
 * subject and scenario gets its own source text (the `tag` comment), so V8 neither shares a cached
 * compilation nor the type feedback between them: each call site sees one subject, as in a real app.
 */
export function compile(tag, inst, body) {
  const src = `/* ${tag} */\n${body}`;
  // eslint-disable-next-line no-new-func
  return new Function('S', 'noop', 'failing', 'ERR', 'isOpen', src)(inst.S, noop, failing, ERR, inst.isOpen);
}

/** A plain `(fn) => promise` calling through the instance, for setup (filling, opening). */
export function caller(tag, inst) {
  return compile(`${tag} caller`, inst, `return (f) => ${inst.expr('f')};`);
}

/** The median of mitata's samples (each the mean of a batch of calls), in ns per invocation. */
export async function sample(fn, timeMs, options = {}) {
  const stats = await measure(fn, { ...options, min_cpu_time: timeMs * 1e6 });
  return stats.p50;
}

export function median(values) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/** Runs `gc()` until the heap stops shrinking, then returns `heapUsed`. Needs `--expose-gc`. */
export function settledHeap() {
  let last = Infinity;
  for (let i = 0; i < 5; i++) {
    globalThis.gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 1024) return used;
    last = used;
  }
  return last;
}

/**
 * Calls `fn` with `setTimeout` and `setInterval` counted, restoring both afterwards (also when
 * `fn` throws). Returns `{ timeouts, intervals, value }`.
 */
export async function countTimers(fn) {
  const realTimeout = globalThis.setTimeout;
  const realInterval = globalThis.setInterval;
  const counts = { timeouts: 0, intervals: 0 };
  globalThis.setTimeout = function countedTimeout(...args) {
    counts.timeouts++;
    return realTimeout.apply(this, args);
  };
  globalThis.setInterval = function countedInterval(...args) {
    counts.intervals++;
    return realInterval.apply(this, args);
  };
  try {
    const value = await fn();
    return { ...counts, value };
  } finally {
    globalThis.setTimeout = realTimeout;
    globalThis.setInterval = realInterval;
  }
}
