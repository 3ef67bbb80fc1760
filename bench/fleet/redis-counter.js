// Counting what the fleet asks of Redis, two ways:
// - `INFO commandstats` deltas: every command Redis executed, those run inside Lua scripts included;
// - MONITOR: every command with its source, so that the client's round trips (a script call is one)
//   are told apart from the commands run inside scripts, and the store's heartbeat (the marker script)
//   from everything else. It also gives the Redis-side time of each PUBLISH (µs, Redis's clock).

import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { LEASE_SCRIPT, MARKER_SCRIPT, RELEASE_SCRIPT, WRITE_SCRIPT } from '../../dist/redis/redis.scripts.js';

const SCRIPTS = new Map([
  [WRITE_SCRIPT.sha, 'write'],
  [LEASE_SCRIPT.sha, 'lease'],
  [RELEASE_SCRIPT.sha, 'release'],
  [MARKER_SCRIPT.sha, 'marker'],
]);
/** The bench's own commands, not the fleet's. */
const OWN = new Set(['info', 'monitor']);

function parseCommandStats(text) {
  const calls = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match !== null) calls[match[1]] = Number(match[2]);
  }
  return calls;
}

function diff(after, before) {
  const out = {};
  for (const [cmd, n] of Object.entries(after)) {
    const d = n - (before[cmd] ?? 0);
    if (d !== 0 && !OWN.has(cmd)) out[cmd] = d;
  }
  return out;
}

const sum = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);

/** What one MONITOR line is: `{ kind, heartbeat }`; kind is e.g. `evalsha:write`, `lua:publish`, `get`. */
function classify(args, source) {
  const cmd = args[0]?.toLowerCase() ?? '';
  if (source === 'lua') {
    // The marker script reads (and, on a new server, sets) the marker key: part of the heartbeat.
    return { kind: `lua:${cmd}`, heartbeat: /marker$/.test(args[1] ?? ''), lua: true };
  }
  if (cmd === 'evalsha' || cmd === 'eval') {
    const sha = cmd === 'evalsha' ? args[1] : createHash('sha1').update(args[1] ?? '').digest('hex');
    const script = SCRIPTS.get(sha) ?? 'other';
    return { kind: `${cmd}:${script}`, heartbeat: script === 'marker', lua: false };
  }
  return { kind: cmd, heartbeat: false, lua: false };
}

function within(promise, ms, message) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}

export class RedisCounter {
  #client;
  #monitor = null;
  #ownAddresses = new Set();
  /** the MONITOR tally of the open counting window */
  #tally = null;
  /** called, in order, as MONITOR shows each INFO of ours: the fences of the counting windows */
  #fences = [];
  /** `{ redisAt, state, at }` of every transition PUBLISH seen (redisAt: Redis's clock, epoch ms) */
  publishes = [];

  static async connect(url) {
    const counter = new RedisCounter();
    counter.#client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await counter.#client.connect();
    counter.#ownAddresses.add(await counter.#address(counter.#client));
    counter.#monitor = await counter.#client.monitor();
    counter.#monitor.on('monitor', (time, args, source) => counter.#onMonitor(time, args, source));
    return counter;
  }

  async #address(client) {
    const info = String(await client.call('CLIENT', 'INFO'));
    return /addr=(\S+)/.exec(info)?.[1];
  }

  #onMonitor(time, args, source) {
    if (this.#ownAddresses.has(source)) {
      if (args[0]?.toLowerCase() === 'info') this.#fences.shift()?.();
      return;
    }
    const c = classify(args, source);
    if (this.#tally !== null) {
      const bucket = c.heartbeat ? this.#tally.heartbeat : c.lua ? this.#tally.inScripts : this.#tally.roundTrips;
      bucket[c.kind] = (bucket[c.kind] ?? 0) + 1;
    }
    if (c.kind === 'lua:publish') {
      try {
        const message = JSON.parse(args[2]);
        this.publishes.push({ redisAt: Number(time) * 1000, state: message.transition?.state, at: message.transition?.at, name: message.name });
      } catch {
        this.publishes.push({ redisAt: Number(time) * 1000, state: undefined, at: undefined });
      }
    }
  }

  /**
   * `INFO commandstats`, and `onFenced()` once MONITOR shows that INFO: Redis runs commands one at a
   * time and shows them to MONITOR in that order, so the INFO splits the MONITOR stream exactly where
   * it split the counts.
   */
  async #commandStats(onFenced) {
    const fenced = new Promise((resolve) => this.#fences.push(() => {
      onFenced();
      resolve();
    }));
    const stats = parseCommandStats(await this.#client.info('commandstats'));
    await within(fenced, 2_000, 'MONITOR did not show the INFO of a counting window');
    return stats;
  }

  /** Starts a counting window; `end()` on its result closes it. */
  async begin() {
    const tally = { roundTrips: {}, inScripts: {}, heartbeat: {} };
    const before = await this.#commandStats(() => (this.#tally = tally));
    const startedAt = performance.now();
    return {
      end: async () => {
        const durationMs = performance.now() - startedAt;
        const executed = diff(await this.#commandStats(() => (this.#tally = null)), before);
        return {
          durationMs,
          /** INFO commandstats delta: every command Redis executed (script-internal ones included) */
          executed,
          executedTotal: sum(executed),
          /** MONITOR: the fleet's round trips other than the heartbeat, by kind */
          roundTrips: tally.roundTrips,
          roundTripsTotal: sum(tally.roundTrips),
          /** MONITOR: commands run inside those scripts */
          inScripts: tally.inScripts,
          inScriptsTotal: sum(tally.inScripts),
          /** MONITOR: the stores' heartbeat (marker script and what it runs) */
          heartbeat: tally.heartbeat,
          heartbeatTotal: sum(tally.heartbeat),
        };
      },
    };
  }

  async close() {
    this.#monitor?.disconnect();
    await this.#client?.quit().catch(() => this.#client.disconnect());
  }
}
