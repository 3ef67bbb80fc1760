// `npm run bench:fleet`: how fast a transition on one instance reaches the others through Redis, and
// what the fleet asks of Redis (README Performance). Three built sample-app processes share one real
// `redis-server` and one payment provider served by this process (DOWNSTREAM_URL), as in
// test/redis/fleet.e2e-spec.ts.
//
//   node bench/fleet.js     (after `npm run build` and `tsc -p sample-app/tsconfig.json`; `npm run bench:fleet` does all three)
//   FLEET_TRIALS=200 FLEET_CLOSED_REQUESTS=3000 FLEET_CONCURRENCY=8 FLEET_WAIT_MS=2000 node bench/fleet.js
//
// - open: three failing `POST /payments` on one instance trip its `payments` breaker;
// - force-open: `POST /circuit-breakers/payments/force-open` on one instance;
// - reset: the `POST …/reset` that closes the fleet again after each of those trials.
// Each is timed by the instances' own clocks (one host, so their wall clocks compare): from the
// transition on the originating instance (the `at` it shares through Redis) to the last of the other
// two reporting it (the `at` of its `stateChange` on `GET /circuit-breakers/events`); the bench's own
// receive times and the Redis-side time of the PUBLISH (MONITOR) say where that time goes. Redis commands are counted with
// `INFO commandstats` deltas (minus an idle window of the same length: the stores' heartbeat) and,
// per source, with MONITOR.
//
// Prints markdown tables to stdout (progress to stderr), writes bench/results/fleet-latest.json, and
// stops every process it started, also on an error or SIGINT.

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { envInt } from './env.js';
import { Children } from './fleet/children.js';
import { FleetEvents } from './fleet/events.js';
import { PaymentProvider } from './fleet/provider.js';
import { RedisCounter } from './fleet/redis-counter.js';
import { startRedisServer } from './fleet/redis-server.js';
import { startInstance } from './fleet/sample-app.js';

const RESULTS_FILE = fileURLToPath(new URL('./results/fleet-latest.json', import.meta.url));
const TOKEN = 'fleet-bench-admin-token';
const BREAKER = 'payments';
/** The sample's default failure threshold. */
const FAILURE_THRESHOLD = 3;
/** The targets: p50 ≤ 20 ms and p99 ≤ 100 ms for an open or a force-open to reach the other instances. */
const TARGET = { p50: 20, p99: 100 };
const NAMES = ['a', 'b', 'c'];
const WARMUP_TRIALS = 10;

const log = (msg) => process.stderr.write(`[bench:fleet] ${msg}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readConfig(env) {
  return {
    trials: envInt(env, 'FLEET_TRIALS', 200, 1),
    closedRequests: envInt(env, 'FLEET_CLOSED_REQUESTS', 3_000, NAMES.length),
    concurrency: envInt(env, 'FLEET_CONCURRENCY', 8, 1),
    waitMs: envInt(env, 'FLEET_WAIT_MS', 2_000, 100),
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting

/** Nearest-rank percentile of `values` (Infinity for a lost trial sorts last). */
function percentile(values, p) {
  const xs = [...values].sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))];
}

function summary(values) {
  return { n: values.length, p50: percentile(values, 50), p99: percentile(values, 99), max: percentile(values, 100), lost: values.filter((v) => v === Infinity).length };
}

function ms(v, digits = 1) {
  if (v === Infinity) return 'lost';
  if (!Number.isFinite(v)) return 'n/a';
  return `${v.toFixed(digits)} ms`;
}

const verdict = (ok) => (ok ? 'met' : '**missed**');

function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function machine() {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model?.trim() ?? 'unknown', cores: cpus.length, os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version };
}

// ---------------------------------------------------------------------------------------------
// The fleet

class Fleet {
  constructor(instances, provider, events, counter, config) {
    this.instances = instances;
    this.provider = provider;
    this.events = events;
    this.counter = counter;
    this.config = config;
  }

  /** Waits until every instance reports `to` after `mark`; `{ found, missing }`. */
  reached(mark, to) {
    return this.events.waitAll(mark, NAMES, to, this.config.waitMs);
  }

  /**
   * Runs one trial: `trigger(origin)` moves `origin` to `to` (and resolves to when it sent the request
   * that did), then a reset from `resetter` closes the fleet again. Returns the trial's record (events by instance, the Redis PUBLISH marks) for both.
   */
  async trial(kind, origin, resetter, to, trigger) {
    const mark = this.events.mark();
    const publishMark = this.counter.publishes.length;
    const triggeredAt = await trigger(origin);
    const change = await this.reached(mark, to);

    const resetMark = this.events.mark();
    const resetPublishMark = this.counter.publishes.length;
    const resetAt = (await resetter.manage(BREAKER, 'reset', TOKEN)).sentAt;
    const reset = await this.reached(resetMark, 'closed');
    if (change.missing.length > 0 || reset.missing.length > 0) await this.recover();
    return {
      change: { kind, origin: origin.name, to, triggeredAt, publishMark, ...change },
      reset: { kind: 'reset', origin: resetter.name, to: 'closed', triggeredAt: resetAt, publishMark: resetPublishMark, ...reset },
    };
  }

  /** Three failing charges on `instance`: its breaker opens on the third. Resolves when that one was sent. */
  async trip(instance) {
    this.provider.mode = 'fail';
    try {
      let sentAt;
      for (let i = 0; i < FAILURE_THRESHOLD; i++) {
        const reply = await instance.pay();
        if (reply.status !== 502) throw new Error(`${instance.name}: failure ${i + 1}/${FAILURE_THRESHOLD} answered ${reply.status} (expected 502 from the failing provider): ${JSON.stringify(reply.body)}`);
        sentAt = reply.sentAt;
      }
      return sentAt;
    } finally {
      this.provider.mode = 'succeed';
    }
  }

  /** After a lost propagation: every instance reset on its own, until all are closed. */
  async recover() {
    log('a propagation was lost: resetting every instance');
    const mark = this.events.mark();
    await Promise.all(this.instances.map((i) => i.manage(BREAKER, 'reset', TOKEN)));
    await sleep(100);
    const states = await Promise.all(this.instances.map((i) => i.send('GET', `/circuit-breakers/${BREAKER}`)));
    const notClosed = states.filter((s) => s.body.state !== 'closed');
    if (notClosed.length > 0) throw new Error(`the fleet did not close after a reset of every instance: ${states.map((s) => s.body.state).join(', ')}; events since: ${JSON.stringify(this.events.log.slice(mark))}`);
  }

  /** `count` trials of `kind` (origin and resetter rotate over the instances). */
  async run(kind, count) {
    const records = [];
    for (let t = 0; t < count; t++) {
      const origin = this.instances[t % this.instances.length];
      const resetter = this.instances[(t + 1) % this.instances.length];
      const record = kind === 'open'
        ? await this.trial('open', origin, resetter, 'open', (i) => this.trip(i))
        : await this.trial('force-open', origin, resetter, 'forced_open', async (i) => (await i.manage(BREAKER, 'force-open', TOKEN)).sentAt);
      records.push(record);
      await sleep(2); // let each process finish the trial's work (log lines, replies) before the next
    }
    return records;
  }

  /** `total` successful charges spread over the instances, `concurrency` in flight per instance. */
  async closedBurst(total) {
    const perInstance = Math.ceil(total / this.instances.length);
    const statuses = new Map();
    await Promise.all(this.instances.map(async (instance) => {
      let left = perInstance;
      await Promise.all(Array.from({ length: this.config.concurrency }, async () => {
        while (left > 0) {
          left--;
          const { status } = await instance.pay();
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }));
    }));
    const sent = perInstance * this.instances.length;
    if (statuses.get(201) !== sent) throw new Error(`closed-path burst: expected ${sent} × 201, got ${JSON.stringify(Object.fromEntries(statuses))}`);
    return sent;
  }
}

// ---------------------------------------------------------------------------------------------
// Analysis

/**
 * One propagation from a record, by the instances' clocks: from the transition on the origin to the
 * last other instance's event. The origin's time is the `at` it shared (read from the PUBLISH), or
 * its own event's when earlier: the origin sends the write to Redis inside the transition, before
 * it emits the event, so its event can be later than the change itself. The same by the bench's
 * receive times, and from the bench sending the request. Infinity when an instance never reported it.
 */
function propagation(record, publishes) {
  const origin = record.found.get(record.origin);
  const others = NAMES.filter((n) => n !== record.origin);
  if (origin === undefined || others.some((n) => !record.found.has(n))) {
    return { instanceClocks: Infinity, perInstance: others.map(() => Infinity), observed: Infinity, fromRequest: Infinity, lost: true };
  }
  const otherEvents = others.map((n) => record.found.get(n));
  const last = Math.max(...otherEvents.map((e) => e.at));
  const lastReceived = Math.max(...otherEvents.map((e) => e.receivedAt));
  const sharedState = record.to === 'closed' ? 'reset' : record.to;
  const publish = closest(publishes, record.publishMark, sharedState, origin.at);
  const originAt = publish === undefined ? origin.at : Math.min(origin.at, publish.at);
  return {
    instanceClocks: last - originAt,
    perInstance: otherEvents.map((e) => e.at - originAt),
    observed: lastReceived - origin.receivedAt,
    fromRequest: lastReceived - record.triggeredAt,
    // where the time goes (Redis's clock has µs; the instances' ms)
    requestToOrigin: originAt - record.triggeredAt,
    originToOwnEvent: origin.at - originAt,
    originToPublish: publish === undefined ? NaN : publish.redisAt - originAt,
    publishToOthers: publish === undefined ? NaN : last - publish.redisAt,
    othersToBench: Math.max(...otherEvents.map((e) => e.receivedAt - e.at)),
    lost: false,
  };
}

/**
 * The PUBLISH of a transition: the one of that state whose `at` (the origin's clock when it shared
 * it) is closest to the origin's event. MONITOR lines may arrive after the next trial began, so the
 * search starts a little before the trial's mark.
 */
function closest(publishes, mark, state, at) {
  let best;
  for (let i = Math.max(0, mark - 4); i < publishes.length; i++) {
    const p = publishes[i];
    if (p.state === state && (best === undefined || Math.abs(p.at - at) < Math.abs(best.at - at))) best = p;
  }
  return best !== undefined && Math.abs(best.at - at) <= 50 ? best : undefined;
}

function analyse(records, publishes) {
  const byKind = { open: [], 'force-open': [], reset: [] };
  for (const { change, reset } of records) {
    byKind[change.kind].push(propagation(change, publishes));
    byKind.reset.push(propagation(reset, publishes));
  }
  const out = {};
  for (const [kind, list] of Object.entries(byKind)) {
    const field = (f) => list.map((p) => p[f]).filter((v) => typeof v === 'number' && !Number.isNaN(v));
    out[kind] = {
      instanceClocks: summary(field('instanceClocks')),
      eachOtherInstance: summary(list.flatMap((p) => p.perInstance)),
      observed: summary(field('observed')),
      fromRequest: summary(field('fromRequest')),
      breakdown: {
        requestToOrigin: percentile(field('requestToOrigin'), 50),
        originToOwnEvent: percentile(field('originToOwnEvent'), 50),
        originToOwnEventP99: percentile(field('originToOwnEvent'), 99),
        originToPublish: percentile(field('originToPublish'), 50),
        publishToOthers: percentile(field('publishToOthers'), 50),
        othersToBench: percentile(field('othersToBench'), 50),
        originToPublishP99: percentile(field('originToPublish'), 99),
        publishToOthersP99: percentile(field('publishToOthers'), 99),
      },
      /** each trial's propagation by the instances' clocks, ms, in trial order (null: lost) */
      samplesMs: list.map((t) => (t.instanceClocks === Infinity ? null : t.instanceClocks)),
      publishesMatched: list.filter((t) => Number.isFinite(t.originToPublish)).length,
    };
  }
  return out;
}

/** A counting window minus an idle window of the same length: the net commands of `units` units. */
function net(window, idle, units) {
  const scale = window.durationMs / idle.durationMs;
  const executedNet = window.executedTotal - idle.executedTotal * scale;
  return {
    units,
    durationMs: window.durationMs,
    executed: window.executed,
    executedTotal: window.executedTotal,
    idleExecutedTotal: idle.executedTotal,
    idleDurationMs: idle.durationMs,
    executedNet,
    executedPerUnit: executedNet / units,
    roundTrips: window.roundTrips,
    roundTripsTotal: window.roundTripsTotal,
    roundTripsPerUnit: window.roundTripsTotal / units,
    inScripts: window.inScripts,
    inScriptsPerUnit: window.inScriptsTotal / units,
    heartbeat: window.heartbeat,
    heartbeatTotal: window.heartbeatTotal,
    /** exact: what Redis executed minus the heartbeats MONITOR saw in the same window */
    executedBeyondHeartbeat: window.executedTotal - window.heartbeatTotal,
  };
}

/** The closed path's target: no round trip and nothing executed beyond the heartbeats (both exact, from MONITOR). */
function closedPathMet(closed) {
  return closed.roundTripsTotal === 0 && closed.inScriptsPerUnit === 0 && closed.executedBeyondHeartbeat === 0;
}

/** Runs `fn` in a counting window, then an idle window of the same length. */
async function counted(counter, fn) {
  const window = await counter.begin();
  const value = await fn();
  const busy = await window.end();
  const idleWindow = await counter.begin();
  await sleep(busy.durationMs);
  const idle = await idleWindow.end();
  return { value, busy, idle };
}

// ---------------------------------------------------------------------------------------------
// Report

const KIND_LABELS = {
  open: `open (${FAILURE_THRESHOLD} failing \`POST /payments\` on one instance)`,
  'force-open': '`POST /circuit-breakers/payments/force-open` on one instance',
  reset: '`POST /circuit-breakers/payments/reset` after each trial (no target)',
};

function report(result) {
  const { config, propagation: p, commands, redisVersion } = result;
  const lines = [];
  lines.push(`## Fleet: 3 sample-app processes, one redis-server ${redisVersion}, ${config.trials} trials per kind\n`);
  lines.push(`${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node}; load average ${result.loadBefore.toFixed(2)} before, ${result.loadAfter.toFixed(2)} after; ${(result.durationMs / 1000).toFixed(0)} s in all.\n`);
  lines.push('Propagation: from the transition on the instance where it happened to the last of the other two reporting it, by the instances\' own clocks '
    + '(one host, one wall clock): the origin\'s time is the `at` it shared (in the PUBLISH) or its own event\'s, whichever is earlier; the others\' is the `at` of their `stateChange` on '
    + '`GET /circuit-breakers/events`. Millisecond resolution.\n');
  const rows = [];
  for (const kind of ['open', 'force-open', 'reset']) {
    const s = p[kind].instanceClocks;
    const e = p[kind].eachOtherInstance;
    rows.push([KIND_LABELS[kind], String(s.n), ms(s.p50, 0), ms(s.p99, 0), ms(s.max, 0), `${ms(e.p50, 0)} / ${ms(e.p99, 0)}`, String(s.lost), verdict(s.p50 <= TARGET.p50), verdict(s.p99 <= TARGET.p99)]);
  }
  lines.push(table(['kind', 'n', 'p50', 'p99', 'max', 'each other instance p50 / p99', 'lost', `p50 ≤ ${TARGET.p50} ms`, `p99 ≤ ${TARGET.p99} ms`], rows));

  lines.push('\nSeen by the bench (the receive times of the events, sub-ms): from the origin\'s event to the last other\'s, and from sending the request that made the transition '
    + '(the third failing charge for an open, the POST for the others) to the last other\'s event:\n');
  lines.push(table(['kind', 'origin event → last other (p50 / p99 / max)', 'request → last other (p50 / p99 / max)'], ['open', 'force-open', 'reset'].map((kind) => {
    const o = p[kind].observed;
    const r = p[kind].fromRequest;
    return [kind, `${ms(o.p50, 2)} / ${ms(o.p99, 2)} / ${ms(o.max, 2)}`, `${ms(r.p50, 2)} / ${ms(r.p99, 2)} / ${ms(r.max, 2)}`];
  })));

  lines.push('\nWhere the time goes (p50 / p99 over the trials; the PUBLISH time is Redis\'s clock from MONITOR, µs; the instances\' times are ms, so a segment may read up to 1 ms low or high). '
    + 'The origin writes to Redis inside the transition, before its own listeners run: the second column is how much later its own event (log line, SSE) comes.\n');
  const pair = (a, b) => `${ms(a, 2)} / ${ms(b, 2)}`;
  lines.push(table(['kind', 'request → origin\'s transition (p50)', 'origin\'s transition → its own event', 'origin\'s transition → Redis PUBLISH', 'PUBLISH → last other instance\'s transition', 'other\'s event → bench (SSE, p50)'], ['open', 'force-open', 'reset'].map((kind) => {
    const b = p[kind].breakdown;
    return [kind, ms(b.requestToOrigin, 2), pair(b.originToOwnEvent, b.originToOwnEventP99), pair(b.originToPublish, b.originToPublishP99), pair(b.publishToOthers, b.publishToOthersP99), ms(b.othersToBench, 2)];
  })));

  lines.push('\nRedis commands. "Executed": `INFO commandstats` Δ over the phase (commands run inside Lua scripts included; the bench\'s INFO excluded) minus the Δ over an idle window of the same length (the three stores\' heartbeats, so ± a few commands over the phase); '
    + '"beyond heartbeats": the same Δ minus the heartbeat commands MONITOR saw in the phase (exact). '
    + '"Round trips": the fleet\'s commands by MONITOR, a script call counting once, heartbeats excluded by their script. The closed-path target is judged on the exact columns.\n');
  const c = commands;
  const fmtCount = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 0.1 ? 4 : 2));
  const breakdown = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ') || '—';
  const closedOk = closedPathMet(c.closed);
  lines.push(table(
    ['phase', 'units', 'duration', 'executed Δ (idle Δ)', 'executed per unit', 'executed beyond heartbeats (per unit)', 'round trips per unit', 'round trips', 'in scripts per unit', 'target'],
    [
      [`closed path: ${c.closed.units} × \`POST /payments\` (201), ${config.concurrency} in flight per instance`, `${c.closed.units} requests`, ms(c.closed.durationMs, 0), `${c.closed.executedTotal} (${c.closed.idleExecutedTotal})`, fmtCount(c.closed.executedPerUnit), `${c.closed.executedBeyondHeartbeat} (${fmtCount(c.closed.executedBeyondHeartbeat / c.closed.units)})`, fmtCount(c.closed.roundTripsPerUnit), breakdown(c.closed.roundTrips), fmtCount(c.closed.inScriptsPerUnit), `0: ${verdict(closedOk)}`],
      ...['open', 'force-open'].map((kind) => {
        const k = c[kind];
        return [`${kind} trials (each + its reset)`, `${k.units} transitions`, ms(k.durationMs, 0), `${k.executedTotal} (${k.idleExecutedTotal})`, fmtCount(k.executedPerUnit), `${k.executedBeyondHeartbeat} (${fmtCount(k.executedBeyondHeartbeat / k.units)})`, fmtCount(k.roundTripsPerUnit), breakdown(k.roundTrips), fmtCount(k.inScriptsPerUnit), '—'];
      }),
    ],
  ));
  lines.push(`\nIdle background: ${fmtCount(c.heartbeatPerSecond)} commands/s executed by the three stores' heartbeats (${breakdown(c.closed.heartbeat)} during the closed-path phase). A transition's round trip is the write script (\`evalsha\`), which runs ${breakdown(c.open.inScripts)} inside over the open trials; the other instances receive the broadcast on their subscriber connection and send nothing.`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const config = readConfig(process.env);
  const started = performance.now();
  const loadBefore = os.loadavg()[0];
  const children = new Children();
  children.installSignalHandlers(log);
  try {
    log('starting redis-server, the payment provider and 3 sample-app instances');
    const redis = await startRedisServer(children);
    const provider = new PaymentProvider();
    await provider.start();
    children.beforeStop(() => provider.stop());
    const env = {
      REDIS_URL: redis.url,
      DOWNSTREAM_URL: provider.url,
      CIRCUIT_BREAKER_ADMIN_TOKEN: TOKEN,
      // long enough that no trial sees HALF_OPEN: every trial ends with a reset
      CIRCUIT_BREAKER__PAYMENTS__TIMEOUT: '600',
    };
    const instances = [];
    for (const name of NAMES) instances.push(await startInstance(children, name, env)); // one at a time: 2 cores
    const counter = await RedisCounter.connect(redis.url);
    children.beforeStop(() => counter.close());
    const events = new FleetEvents(BREAKER);
    const closers = await Promise.all(instances.map((i) => i.subscribe(events.onEvent)));
    children.beforeStop(() => closers.forEach((close) => close()));
    const fleet = new Fleet(instances, provider, events, counter, config);
    for (const i of instances) {
      const { body } = await i.send('GET', `/circuit-breakers/${BREAKER}`);
      if (body.state !== 'closed') throw new Error(`${i.name}: ${BREAKER} is ${body.state} at start, expected closed`);
    }

    log(`warm-up: ${WARMUP_TRIALS} trials of each kind, ${config.closedRequests / 10} requests`);
    await fleet.run('open', WARMUP_TRIALS);
    await fleet.run('force-open', WARMUP_TRIALS);
    await fleet.closedBurst(Math.ceil(config.closedRequests / 10));

    log(`closed path: ${config.closedRequests} requests, then an idle window as long`);
    const closed = await counted(counter, () => fleet.closedBurst(config.closedRequests));

    const records = [];
    const phases = {};
    for (const kind of ['open', 'force-open']) {
      log(`${kind}: ${config.trials} trials, then an idle window as long`);
      const { value, busy, idle } = await counted(counter, () => fleet.run(kind, config.trials));
      records.push(...value);
      phases[kind] = net(busy, idle, value.length * 2); // each trial: the transition and the reset
    }
    const commands = {
      closed: net(closed.busy, closed.idle, closed.value),
      ...phases,
      heartbeatPerSecond: (closed.idle.executedTotal / closed.idle.durationMs) * 1000,
    };
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      loadBefore,
      loadAfter: os.loadavg()[0],
      durationMs: performance.now() - started,
      redisVersion: redis.version,
      config,
      targets: { p50Ms: TARGET.p50, p99Ms: TARGET.p99, closedPathCommandsPerRequest: 0 },
      propagation: analyse(records, counter.publishes),
      commands,
    };
    result.met = {
      ...Object.fromEntries(['open', 'force-open'].map((kind) => {
        const s = result.propagation[kind].instanceClocks;
        return [kind, { p50: s.p50 <= TARGET.p50, p99: s.p99 <= TARGET.p99 }];
      })),
      closedPath: closedPathMet(commands.closed),
    };
    console.log(report(result));
    await mkdir(new URL('./results/', import.meta.url), { recursive: true });
    await writeFile(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${RESULTS_FILE}`);
  } finally {
    log('stopping the fleet');
    await children.stopAll();
  }
}

try {
  await main();
} catch (error) {
  // A missing redis-server needs no stack trace: the message says what to install.
  process.stderr.write(`[bench:fleet] failed: ${error?.code === 'REDIS_NOT_INSTALLED' ? error.message : (error?.stack ?? error)}\n`);
  process.exitCode = 1;
}
