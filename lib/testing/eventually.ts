/**
 * Retries `check` until it passes, for at most `ms` of real time: for effects that travel over real
 * I/O (a store's pub/sub), where a fake clock cannot help. Throws the last failure. (Used by the
 * store contract suite and this package's own tests; not exported from `nestjs-circuit-breaker/testing`.)
 */
export async function eventually(check: () => unknown, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (performance.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
