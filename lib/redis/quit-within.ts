import type { Cluster, Redis } from 'ioredis';

const DEFAULT_QUIT_TIMEOUT_MS = 1_000;

/**
 * Closes an ioredis client you own at shutdown, in at most `timeoutMs` whatever Redis does: a QUIT
 * (pending replies are read first) when it is connected, and when that gets no answer in time (a
 * frozen or unreachable server), or the client is not connected, the connection is dropped at once.
 * Never rejects. Close the store first (`store.close()`), then its client with this.
 *
 * @example
 * async onApplicationShutdown() {
 *   await this.store.close();
 *   await quitWithin(this.client, 1_000);
 * }
 */
export async function quitWithin(client: Redis | Cluster, timeoutMs: number = DEFAULT_QUIT_TIMEOUT_MS): Promise<void> {
  if (!(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new TypeError(`quitWithin: timeoutMs ${String(timeoutMs)} is not valid; expected a duration in ms: a finite number >= 0`);
  }
  if (client.status === 'end') return;
  // Not connected: QUIT would wait for a reconnection that may never come.
  if (client.status !== 'ready') return drop(client);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const quit = client.quit().then(
    () => true,
    () => false,
  );
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const quitInTime = await Promise.race([quit, timedOut]);
  clearTimeout(timer);
  if (!quitInTime) drop(client);
}

/**
 * Drops the connection(s) at once. `disconnect()` alone ends the socket politely, and a frozen server
 * never finishes that exchange: the open socket would keep the process alive. So it is destroyed too.
 */
function drop(client: Redis | Cluster): void {
  const connections = 'nodes' in client && typeof client.nodes === 'function' ? [client, ...client.nodes('all')] : [client];
  client.disconnect();
  for (const connection of connections) (connection as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
}
