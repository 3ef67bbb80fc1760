// `npm run bench:redis`: the CLOSED-path cost of a breaker attached to the Redis store, against one
// attached to the in-memory store and one with no store, in one process (the design rule: the hot path
// never awaits Redis; target: Redis within 10% of in-memory).
//
//   node bench/redis.js                  (after `npm run build`; `npm run bench:redis` does both)
//   BENCH_RUNS=9 BENCH_TIME_MS=300 …     more runs / longer samples
//
// Starts its own `redis-server` (from PATH, on a free loopback port, no persistence) and stops it at
// the end. Prints a markdown table of medians over the runs (subject order rotated each run) to
// stdout, progress to stderr.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import os from 'node:os';
import { measure } from 'mitata';
import { Redis } from 'ioredis';
import { Breaker, InMemoryCircuitBreakerStore, InMemoryStoreBackend } from '../dist/index.js';
import { RedisCircuitBreakerStore } from '../dist/redis/index.js';
import { envInt } from './env.js';
import { median } from './measure.js';

const TARGET_RATIO = 1.1;
const REDIS_READY = 'Ready to accept connections';
const REDIS_START_TIMEOUT_MS = 10_000;

/** The closed paths, each a call a protected method makes through its breaker, and the same work with no breaker. */
const PATHS = [
  { name: '`execute(async fn)`', body: 'return () => b.execute(noop);', bare: 'return () => noop();' },
  { name: '`tryAcquire()` + `success()`', body: 'return () => { b.tryAcquire().success(); };', bare: 'return () => {};' },
  { name: '`acquire()` + `success()`', body: 'return () => { b.acquire().success(); };', bare: 'return () => {};' },
];
const BARE = { key: 'bare', label: 'no breaker' };

const noop = async () => {};

/**
 * A fresh function per subject and path (the `tag` comment makes the source text unique), so V8
 * shares neither compilation nor type feedback between them: each call site sees one breaker.
 */
function compile(tag, breaker, body) {
  // eslint-disable-next-line no-new-func
  return new Function('b', 'noop', `/* ${tag} */\n${body}`)(breaker, noop);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` on a free loopback port; resolves `{ port, stop() }` once it accepts connections. */
async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within ${REDIS_START_TIMEOUT_MS} ms:\n${output}`)), REDIS_START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes(REDIS_READY)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new Error('redis-server is not on PATH: apt-get install redis-server') : error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (code ${code}, signal ${signal}) before it was ready:\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The three subjects: a breaker with no store, one attached to an in-memory fleet, one attached to Redis. */
async function subjects(redisPort) {
  const silent = { log: () => undefined, warn: () => undefined };
  const backend = new InMemoryStoreBackend();
  const memory = new InMemoryCircuitBreakerStore({ backend, logger: silent });
  const memoryPeer = new InMemoryCircuitBreakerStore({ backend, logger: silent }); // another instance of the fleet
  const client = new Redis(redisPort, '127.0.0.1');
  const redis = new RedisCircuitBreakerStore({ client, keyPrefix: 'bench:', logger: silent });

  const none = new Breaker('payments');
  const inMemory = new Breaker('payments');
  const onRedis = new Breaker('payments');
  await Promise.all([memory.attach(inMemory), memoryPeer.attach(new Breaker('payments')), redis.attach(onRedis)]);
  if (client.status !== 'ready') throw new Error(`the Redis client is ${client.status}, expected ready: the bench would measure a store running on local state`);
  for (const b of [none, inMemory, onRedis]) if (b.state !== 'closed') throw new Error(`the bench breaker is ${b.state}, expected closed`);

  return {
    list: [
      { key: 'none', label: 'no store', breaker: none },
      { key: 'memory', label: 'in-memory store', breaker: inMemory },
      { key: 'redis', label: 'Redis store', breaker: onRedis },
    ],
    close: async () => {
      await Promise.all([memory.close(), memoryPeer.close(), redis.close()]);
      await client.quit();
    },
  };
}

function rotated(list, run) {
  const k = run % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

const ns = (v) => `${v.toFixed(1)} ns`;

async function main() {
  const runs = envInt(process.env, 'BENCH_RUNS', 7, 1);
  const timeMs = envInt(process.env, 'BENCH_TIME_MS', 150, 10);
  const log = (msg) => process.stderr.write(`[bench:redis] ${msg}\n`);

  const server = await startRedis();
  let fleet;
  try {
    fleet = await subjects(server.port);
    const all = [BARE, ...fleet.list];
    const fns = new Map();
    for (const p of PATHS) {
      fns.set(`${BARE.key} ${p.name}`, compile(`${BARE.key} ${p.name}`, null, p.bare));
      for (const s of fleet.list) fns.set(`${s.key} ${p.name}`, compile(`${s.key} ${p.name}`, s.breaker, p.body));
    }
    /** `${subject} ${path}` → ns per call, one per run */
    const results = new Map([...fns.keys()].map((k) => [k, []]));
    for (let run = 0; run < runs; run++) {
      log(`run ${run + 1}/${runs}`);
      for (const p of PATHS) {
        for (const s of rotated(all, run)) {
          const key = `${s.key} ${p.name}`;
          const stats = await measure(fns.get(key), { min_cpu_time: timeMs * 1e6 });
          results.get(key).push(stats.p50);
        }
      }
    }
    for (const s of fleet.list) if (s.breaker.state !== 'closed') throw new Error(`${s.label}: the breaker left CLOSED during the bench (${s.breaker.state})`);

    const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown cpu';
    console.log(`Closed-path cost per call, median of ${runs} runs (${timeMs} ms samples each, mitata p50); ${cpu}, ${os.cpus().length} cores, Node ${process.version}, load ${os.loadavg()[0].toFixed(2)}.\n`);
    console.log(`| closed path | ${all.map((s) => s.label).join(' | ')} | Redis − in-memory | Redis ÷ in-memory |`);
    console.log(`|---|${all.map(() => '---:').join('|')}|---:|---:|`);
    let met = true;
    for (const p of PATHS) {
      const m = Object.fromEntries(all.map((s) => [s.key, median(results.get(`${s.key} ${p.name}`))]));
      const ratio = m.redis / m.memory;
      met &&= ratio <= TARGET_RATIO;
      const delta = m.redis - m.memory;
      console.log(`| ${p.name} | ${all.map((s) => ns(m[s.key])).join(' | ')} | ${delta >= 0 ? '+' : '−'}${ns(Math.abs(delta))} | ${ratio.toFixed(2)} |`);
    }
    console.log(`\nTarget (Redis within ${Math.round((TARGET_RATIO - 1) * 100)}% of in-memory on every path): ${met ? 'met' : 'NOT met'}.`);
  } finally {
    await fleet?.close();
    await server.stop();
  }
}

await main();
