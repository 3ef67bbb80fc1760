import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Breaker } from '../../lib/core/index.js';
import { RedisCircuitBreakerStore } from '../../lib/redis/index.js';
import { eventually } from '../../lib/testing/eventually.js';
import { type RedisServer, startRedisServer } from '../support/redis-server.js';
import { type Freezer, freezer } from './freeze.js';

// At scale: one instance with 20,000 breakers on one store, a real redis-server frozen
// (SIGSTOP) for 5 s while traffic goes on and ONE breaker opens, then resumed (SIGCONT). The freeze
// must cost neither memory nor event-loop time in proportion to the breakers attached, and the
// recovery must send commands for the breakers touched only, not for every breaker attached.

const BREAKERS = 20_000;
/** Breakers that see calls during the freeze (closed, below their threshold: no transition). */
const BUSY = 200;
const FREEZE_MS = 5_000;
const HEAP_GROWTH_MAX_BYTES = 20 * 1024 * 1024;
const STALL_MAX_MS = 50;
const CONVERGE_MAX_MS = 3_000;
/** The store's recovery check (every 1 s while unavailable) and its heartbeat (every 2 s, the default). */
const RECOVERY_INTERVAL_MS = 1_000;
const HEARTBEAT_MS = 2_000;

const silentBreaker = { error: () => undefined, warn: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * A full GC. Jest runs without `--expose-gc`: the flag is set now and `gc` taken from a fresh context,
 * which then has it. It collects the whole isolate, so `heapUsed` after it is the live heap.
 */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function liveHeap(gc: () => void): number {
  gc();
  gc(); // the second pass frees what the first one's finalizers released
  return process.memoryUsage().heapUsed;
}

/** `INFO commandstats` as calls per command. */
async function commandCalls(admin: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

/** Calls per command between two readings, without the test's own INFO commands. */
function delta(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [command, calls] of after) {
    const added = calls - (before.get(command) ?? 0);
    if (added > 0 && command !== 'info') changed[command] = added;
  }
  return changed;
}

describe('Redis frozen 5 s with 20,000 breakers attached to one store (real redis-server)', () => {
  let server: RedisServer;
  let redis: Freezer;
  let admin: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = freezer(server);
    admin = new Redis(server.port, '127.0.0.1');
  });
  afterAll(async () => {
    redis?.thaw();
    admin?.disconnect();
    await server?.stop();
  });

  it('one transition: bounded heap growth, no long stall, commands for the breakers touched only; the fleet converges', async () => {
    const keyPrefix = `load-freeze-${randomUUID()}:`;
    const client = new Redis(server.port, '127.0.0.1');
    const warnings: string[] = [];
    const logs: string[] = [];
    const store = new RedisCircuitBreakerStore({ client, keyPrefix, logger: { log: (m) => void logs.push(m), warn: (m) => void warnings.push(m) } });
    // Another instance holding the breaker that opens. It checks nothing by itself (heartbeatMs: 0),
    // so every command counted below comes from the instance under test.
    const observerClient = new Redis(server.port, '127.0.0.1');
    const observer = new RedisCircuitBreakerStore({ client: observerClient, keyPrefix, heartbeatMs: 0, logger: { log: () => undefined, warn: () => undefined } });
    const gc = fullGc();
    // Two monitors, for the freeze and for the recovery: the full GC between them is the test's, not the store's.
    const frozenLoop = monitorEventLoopDelay({ resolution: 1 });
    const recoveringLoop = monitorEventLoopDelay({ resolution: 1 });
    let running = false;
    let traffic: Promise<void> = Promise.resolve();

    try {
      const breakers: Breaker[] = [];
      for (let i = 0; i < BREAKERS; i++) breakers.push(new Breaker(`dep-${i}`, { failureThreshold: 5, resetTimeoutMs: 60_000 }, { logger: silentBreaker }));
      const tripping = new Breaker('tripping', { failureThreshold: 1, resetTimeoutMs: 60_000 }, { logger: silentBreaker });
      const attachStartedAt = performance.now();
      for (let i = 0; i < BREAKERS; i += 500) await Promise.all(breakers.slice(i, i + 500).map((breaker) => store.attach(breaker)));
      await store.attach(tripping);
      const seen = new Breaker('tripping', { failureThreshold: 1, resetTimeoutMs: 60_000 }, { logger: silentBreaker });
      await observer.attach(seen);
      const attachMs = performance.now() - attachStartedAt;

      // Every breaker has had calls, and a transition has been shared once (Redis now knows the write
      // script: no NOSCRIPT retry is counted below).
      for (const breaker of breakers) await breaker.execute(async () => 'ok');
      const warm = breakers[BREAKERS - 1]!;
      warm.forceOpen();
      warm.reset();
      await sleep(200);
      expect(warnings).toEqual([]); // the store was available all along before the freeze

      const ok = async () => 'ok';
      const down = async () => Promise.reject(new Error('down'));
      let calls = 0;
      running = true;
      traffic = (async () => {
        for (let turn = 0; running; turn++) {
          // 50 calls every 10 ms on the BUSY breakers, one in ten failing (below the threshold of 5 in a row).
          for (let k = 0; k < 50; k++) {
            const breaker = breakers[(turn * 50 + k) % BUSY]!;
            await breaker.execute(k % 10 === 0 ? down : ok).catch(() => undefined);
            calls++;
          }
          await sleep(10);
        }
      })();
      await sleep(500);

      const heapBefore = liveHeap(gc);
      const commandsBefore = await commandCalls(admin);
      const callsBefore = calls;
      frozenLoop.enable();
      const frozenAt = performance.now();
      redis.freeze();

      await sleep(FREEZE_MS / 2);
      await tripping.execute(down).catch(() => undefined); // the one transition, while Redis is frozen
      expect(tripping.state).toBe('open');
      await sleep(FREEZE_MS / 2);

      frozenLoop.disable();
      const heapFrozen = liveHeap(gc);
      recoveringLoop.enable();
      redis.thaw();
      const thawedAt = performance.now();

      await eventually(() => expect(seen.state).toBe('open'), CONVERGE_MAX_MS);
      const convergedMs = performance.now() - thawedAt;
      await eventually(() => expect(logs).toHaveLength(1), CONVERGE_MAX_MS); // "available again"
      const recoveredMs = performance.now() - thawedAt;
      recoveringLoop.disable();
      running = false;
      await traffic;
      const callsDuringFreeze = calls - callsBefore;

      await sleep(200); // late answers and the work they release
      const commandsAfter = await commandCalls(admin);
      const windowMs = performance.now() - frozenAt;
      const heapAfter = liveHeap(gc);

      const commands = delta(commandsBefore, commandsAfter);
      const total = Object.values(commands).reduce((sum, n) => sum + n, 0);
      const touched = BUSY + 1; // the breakers that saw calls, and the one that opened
      // INFO commandstats counts the commands run inside a script too: the transition's write is
      // EVALSHA + GET + SET + DEL + PUBLISH, and each heartbeat (the marker) EVALSHA + GET. The
      // heartbeat runs every 2 s, and every 1 s while the store is unavailable, whatever the number
      // of breakers: 2 calls per beat of either over the window measured is the constant allowed.
      const heartbeatCalls = 2 * (Math.ceil(windowMs / RECOVERY_INTERVAL_MS) + Math.ceil(windowMs / HEARTBEAT_MS));
      const frozenStallMs = frozenLoop.max / 1e6;
      const recoveringStallMs = recoveringLoop.max / 1e6;
      const stallMs = Math.max(frozenStallMs, recoveringStallMs);
      const stored = await admin.get(`${keyPrefix}{tripping}:state`);

      process.stdout.write(
        `load-freeze: ${BREAKERS} breakers attached in ${Math.round(attachMs)} ms; ${callsDuringFreeze} calls during the ${FREEZE_MS} ms freeze\n` +
          `  heap (after a full GC): ${MB(heapBefore)} MB before, ${MB(heapFrozen)} MB at the end of the freeze (+${MB(heapFrozen - heapBefore)} MB), ` +
          `${MB(heapAfter)} MB after the recovery (+${MB(heapAfter - heapBefore)} MB)\n` +
          `  longest event-loop stall: ${frozenStallMs.toFixed(1)} ms while frozen (p99 ${(frozenLoop.percentile(99) / 1e6).toFixed(1)} ms), ` +
          `${recoveringStallMs.toFixed(1)} ms from SIGCONT to the recovery (p99 ${(recoveringLoop.percentile(99) / 1e6).toFixed(1)} ms)\n` +
          `  converged ${Math.round(convergedMs)} ms after SIGCONT, available again after ${Math.round(recoveredMs)} ms\n` +
          `  commands over ${Math.round(windowMs)} ms: ${total} (${JSON.stringify(commands)}); touched ${touched} → allowed ${2 * touched} + ${heartbeatCalls} for the heartbeat\n`,
      );

      expect(heapFrozen - heapBefore).toBeLessThanOrEqual(HEAP_GROWTH_MAX_BYTES);
      expect(heapAfter - heapBefore).toBeLessThanOrEqual(HEAP_GROWTH_MAX_BYTES);
      expect(stallMs).toBeLessThanOrEqual(STALL_MAX_MS);
      expect(total).toBeLessThanOrEqual(2 * touched + heartbeatCalls);
      expect(convergedMs).toBeLessThanOrEqual(CONVERGE_MAX_MS);
      expect(stored).toContain('"state":"open"');
      // One line each way, the cause named.
      expect(warnings).toEqual([expect.stringContaining('(timeout)')]);
      expect(logs).toEqual([expect.stringContaining('available again')]);
    } finally {
      running = false;
      frozenLoop.disable();
      recoveringLoop.disable();
      redis.thaw();
      await traffic;
      await Promise.all([store.close(), observer.close()]);
      client.disconnect();
      observerClient.disconnect();
    }
  }, 60_000);
});
