// Reading the benchmarks' environment variables, with a clear error for a bad value.

/** An integer variable >= `min`, or `fallback` when unset or empty. */
export function envInt(env, name, fallback, min) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${JSON.stringify(raw)}: expected an integer >= ${min}`);
  return n;
}
