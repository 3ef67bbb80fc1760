// The traffic of the scale benchmark: half of the breakers (the even ones) see some calls, a few of
// them enough failures to open, and a few are forced open or disabled through the registry, so that
// every endpoint has every kind of breaker to report.

const ERR = new Error('downstream failed');
const ok = () => 'ok';
const failing = () => {
  throw ERR;
};

/** Of the breakers with traffic: every 50th opens (1% of all), every 500th is forced open, every 500th disabled. */
const OPEN_EVERY = 50;
const MANUAL_EVERY = 500;

/**
 * Sends the calls through the breakers (`registry.getOrCreate` created them with the module's
 * defaults: failure threshold 5, open for 60 s) and returns how many breakers end in each state.
 */
export async function createTraffic(registry, breakers) {
  const threshold = breakers[0]?.snapshot().failure_threshold ?? 5;
  for (let i = 0; i < breakers.length; i += 2) {
    const breaker = breakers[i];
    const k = i >> 1;
    // 1 to 8 successes and 0 to 2 failures, never `threshold` in a row.
    for (let s = 0; s < 1 + (k % 8); s++) await breaker.execute(ok);
    for (let f = 0; f < k % 3; f++) await breaker.execute(failing).catch(() => undefined);
    if (k % OPEN_EVERY === 0) {
      for (let f = 0; f < threshold; f++) await breaker.execute(failing).catch(() => undefined);
      // and a rejected call, as an open breaker sees
      await breaker.execute(ok).catch(() => undefined);
    } else if (k % MANUAL_EVERY === 1) {
      registry.forceOpen(breaker.name);
    } else if (k % MANUAL_EVERY === 2) {
      registry.disable(breaker.name);
    }
  }
  const states = {};
  for (const breaker of breakers) states[breaker.state] = (states[breaker.state] ?? 0) + 1;
  return states;
}
