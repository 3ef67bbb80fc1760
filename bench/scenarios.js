// The scenarios. Each returns the value of one run for one subject; index.js takes medians over runs.

import { caller, compile, countTimers, ERR, failing, median, noop, sample, settledHeap } from './measure.js';

export const IN_FLIGHT = 1_000;
const FAILURE_BLOCKS = 5;
const CREATION_BATCH = 500;
const FAILURE_BLOCK_PAIRS = 50;
const FAILURE_BLOCK_MS = 30;

/**
 * The call-path scenarios, as source text around a subject's call expression `x(F)`. `perCall`
 * divides one invocation into calls.
 */
export const CALL_SCENARIOS = [
  {
    id: 'closed',
    title: 'Closed, sequential',
    note: 'ns per awaited call of an async no-op; overhead = ns over the bare call',
    body: (x) => `return () => ${x('noop')};`,
    perCall: 1,
  },
  {
    id: 'inflight',
    title: `Closed, ${IN_FLIGHT.toLocaleString('en-US')} in flight`,
    note: `${IN_FLIGHT} calls started, then \`await Promise.all\`; ns per call`,
    body: (x) => `const ps = new Array(${IN_FLIGHT});
return async () => {
  for (let i = 0; i < ${IN_FLIGHT}; i++) ps[i] = ${x('noop')};
  await Promise.all(ps);
};`,
    perCall: IN_FLIGHT,
  },
  {
    id: 'open',
    title: 'Open, fast-fail',
    note: "ns per rejected call, including the caller's `catch` and a check of the error's type; ratios are of this whole cost "
      + '(as in the issue); overhead = ns over the bare row, here an async function rejecting with a pre-built error, awaited and caught',
    body: (x) => `return async () => {
  try {
    await ${x('noop')};
  } catch (e) {
    if (isOpen(e)) return;
    throw e;
  }
  throw new Error('the call was not rejected: the breaker is not open');
};`,
    perCall: 1,
    absolute: true,
  },
  {
    id: 'mix',
    title: '10% failure mix, closed',
    note: 'every 10th call rejects (a pre-built error, caught by the caller); no rule opens at this rate; ns per call. '
      + 'opossum computes its statistics on every failure, sorting every latency its 10 s window holds, so its figure '
      + 'grows with the calls in that window (here, those of the measurement itself)',
    body: (x) => `let k = 0;
return async () => {
  const f = ++k % 10 === 0 ? failing : noop;
  try {
    await ${x('f')};
  } catch (e) {
    if (e !== ERR) throw e;
  }
};`,
    perCall: 1,
    // opossum's failures sort every latency in its window: small batches keep its samples short.
    measure: { batch_samples: 128 },
  },
];

/** Fails calls until the breaker rejects one as open. */
export async function openIt(tag, inst) {
  const call = caller(tag, inst);
  for (let i = 0; i < 10_000; i++) {
    try {
      await call(failing);
    } catch (e) {
      if (inst.isOpen(e)) return;
      if (e !== ERR) throw e;
    }
  }
  throw new Error(`${tag}: the breaker did not open after 10,000 failures`);
}

/** One run of one call-path scenario for one subject: ns per call. */
export async function runCallScenario(scenario, subject, run, timeMs) {
  const tag = `${subject.id} ${scenario.id} run ${run}`;
  const inst = await subject.create(scenario.id);
  try {
    if (scenario.id === 'open') await openIt(tag, inst);
    const fn = compile(tag, inst, scenario.body(inst.expr));
    return (await sample(fn, timeMs, scenario.measure)) / scenario.perCall;
  } finally {
    await inst.dispose();
  }
}

/** The rejection a user gets from the engine when it is open, checked field by field. */
export async function checkOpenError(lib) {
  const { Breaker, CircuitBreakerOpenError } = lib;
  const breaker = new Breaker('bench-open-check');
  for (let i = 0; i < breaker.options.failureThreshold; i++) await breaker.execute(failing).catch(() => {});
  const error = await breaker.execute(noop).then(
    () => null,
    (e) => e,
  );
  breaker.dispose();
  const checks = {
    'instanceof CircuitBreakerOpenError': error instanceof CircuitBreakerOpenError,
    "name 'CircuitBreakerOpenError'": error?.name === 'CircuitBreakerOpenError',
    "code 'CIRCUIT_OPEN'": error?.code === 'CIRCUIT_OPEN',
    "breakerName 'bench-open-check'": error?.breakerName === 'bench-open-check',
    "state 'open'": error?.state === 'open',
    'retryAfterMs > 0': typeof error?.retryAfterMs === 'number' && error.retryAfterMs > 0,
  };
  const failed = Object.entries(checks).filter(([, ok]) => !ok).map(([what]) => what);
  return { ok: failed.length === 0, failed, retryAfterMs: error?.retryAfterMs ?? null };
}

/**
 * The cost of one failure with `size` calls in the window. Each block gets a fresh breaker whose
 * window is first filled with `size` successes, then times up to `FAILURE_BLOCK_PAIRS` iterations
 * (or `FAILURE_BLOCK_MS`, at least 3): a failure then a success (so the window never fills with
 * failures). The same is done with a success alone; one failure = the difference. A block adds at
 * most 10% to the window, so what is measured is the cost at `size`, not at a window that grew while
 * being measured. Returns medians over the blocks, after a warm-up on a small window.
 */
export async function runFailureCost(subject, size, run) {
  const tag = `${subject.id} failure ${size} run ${run}`;
  const limit = Math.max(3, Math.min(FAILURE_BLOCK_PAIRS, Math.floor(size / 20)));
  const block = (kind, body) => compile(`${tag} ${kind}`, { S: null, isOpen: null }, `return async (S, limit, budgetMs) => {
  const t0 = performance.now();
  let n = 0;
  let t = t0;
  while (n < limit && (n < 3 || t - t0 < budgetMs)) {
${body}
    n++;
    t = performance.now();
  }
  return ((t - t0) * 1e6) / n;
};`);
  const probe = subject.create(size);
  const pair = block('pair', `    try {
      await ${probe.expr('failing')};
    } catch (e) {
      if (e !== ERR) throw e;
    }
    await ${probe.expr('noop')};`);
  const success = block('success', `    await ${probe.expr('noop')};`);
  await probe.dispose();
  const timeBlock = async (fn, fill, n, budgetMs) => {
    const inst = subject.create(size);
    try {
      const call = caller(tag, inst);
      for (let i = 0; i < fill; i++) await call(noop);
      globalThis.gc(); // the filling's garbage, not the block's, would be collected during the block
      return await fn(inst.S, n, budgetMs);
    } finally {
      await inst.dispose();
    }
  };
  // Warm-up, so that the blocks run optimised code: many iterations on a small window.
  await timeBlock(pair, Math.min(size, 1_000), 5_000, 100);
  await timeBlock(success, Math.min(size, 1_000), 5_000, 100);
  const pairs = [];
  const successes = [];
  for (let b = 0; b < FAILURE_BLOCKS; b++) {
    pairs.push(await timeBlock(pair, size, limit, FAILURE_BLOCK_MS));
    successes.push(await timeBlock(success, size, limit, FAILURE_BLOCK_MS));
  }
  const pairNs = median(pairs);
  const successNs = median(successes);
  return { failure: pairNs - successNs, pair: pairNs, success: successNs };
}

/**
 * Heap per breaker and creation time, as a registry creates breakers: a burst of `count` breakers
 * with distinct names (made beforehand), all retained. Creation = the burst's time ÷ count, including
 * the collections the burst sets off; idle heap = `heapUsed` after − before (settled with `gc()`) ÷
 * count; then one successful call through each (windows allocate their buffers at their first
 * outcome) and the heap again. `round` makes the names of each run new.
 */
export async function runPerBreaker(subject, count, round) {
  const names = Array.from({ length: count }, (_, i) => `${subject.id}-${round}-${i}`);
  const keep = new Array(count).fill(null);
  const before = settledHeap();
  const t0 = performance.now();
  for (let i = 0; i < count; i++) keep[i] = subject.make(names[i]);
  const creationNs = ((performance.now() - t0) * 1e6) / count;
  const idle = settledHeap();
  let usedBytes = NaN;
  if (subject.touch) {
    for (let start = 0; start < count; start += CREATION_BATCH) {
      const calls = [];
      for (let i = start; i < Math.min(count, start + CREATION_BATCH); i++) calls.push(subject.touch(keep[i]));
      await Promise.all(calls);
    }
    usedBytes = (settledHeap() - before) / count;
  }
  for (let i = 0; i < count; i++) subject.destroy(keep[i]);
  return { heapBytes: (idle - before) / count, usedHeapBytes: usedBytes, creationNs };
}

/** Timers a subject starts when it is created and during one successful call. */
export async function runTimers(subject) {
  let inst;
  const creation = await countTimers(async () => {
    inst = await subject.create('closed');
  });
  const call = caller(`${subject.id} timers`, inst);
  const perCall = await countTimers(() => call(noop));
  await inst.dispose();
  return {
    creation: { timeouts: creation.timeouts, intervals: creation.intervals },
    perCall: { timeouts: perCall.timeouts, intervals: perCall.intervals },
  };
}
