// `npm run bench:http`: requests per second of one Nest route with and without `@CircuitBreaker`
// (and, for reference, with a no-op interceptor), autocannon on loopback. The server runs in its own process (bench/http-server.js) so that it and
// the load generator each get a core; the two routes are measured in alternating rounds.
//
//   HTTP_DURATION=5 HTTP_ROUNDS=3 HTTP_CONNECTIONS=32 node bench/http.js
//
// Prints a markdown table and writes bench/results/http-latest.json (read by `npm run bench` for
// its targets block).

import { fork } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median } from './measure.js';
import { envInt } from './env.js';

function readConfig(env) {
  const int = (name, fallback, min) => envInt(env, name, fallback, min);
  return {
    durationS: int('HTTP_DURATION', 5, 1),
    rounds: int('HTTP_ROUNDS', 3, 1),
    connections: int('HTTP_CONNECTIONS', 32, 1),
    warmupS: int('HTTP_WARMUP', 2, 0),
  };
}

function startServer() {
  const child = fork(fileURLToPath(new URL('./http-server.js', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (msg) => resolve({ child, ...msg }));
    child.once('exit', (code) => reject(new Error(`bench/http-server.js exited with code ${code} before listening`)));
  });
}

/** The server's CPU time so far (user + system), in µs. */
function serverCpu(child) {
  return new Promise((resolve) => {
    child.once('message', (msg) => resolve(msg.cpuMicros));
    child.send('cpu');
  });
}

/**
 * One load round. Besides req/s (what the target is about, and what other processes on the same
 * cores disturb most), the server's CPU time per request: the work a request costs, which load on
 * the machine changes much less.
 */
async function load(child, url, durationS, connections) {
  const cpu0 = await serverCpu(child);
  const result = await autocannon({ url, duration: durationS, connections });
  const cpu1 = await serverCpu(child);
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
    throw new Error(`${url}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`);
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, cpuUsPerRequest: (cpu1 - cpu0) / result.requests.total };
}

async function main() {
  const config = readConfig(process.env);
  const server = await startServer();
  const base = `http://127.0.0.1:${server.port}`;
  const routes = server.guarded === true ? ['plain', 'intercepted', 'guarded'] : ['plain', 'intercepted'];
  const runs = { plain: [], intercepted: [], guarded: [] };
  try {
    for (const route of routes) {
      process.stderr.write(`[bench:http] warm-up /${route}\n`);
      if (config.warmupS > 0) await load(server.child, `${base}/${route}`, config.warmupS, config.connections);
    }
    for (let round = 0; round < config.rounds; round++) {
      const order = round % 2 === 0 ? routes : [...routes].reverse(); // no route always goes first
      for (const route of order) {
        process.stderr.write(`[bench:http] round ${round + 1}/${config.rounds}: /${route}\n`);
        runs[route].push(await load(server.child, `${base}/${route}`, config.durationS, config.connections));
      }
    }
  } finally {
    server.child.send('stop');
  }

  const summary = (list) => list.length === 0 ? null : {
    median: median(list.map((r) => r.rps)),
    p50Ms: median(list.map((r) => r.p50)),
    p99Ms: median(list.map((r) => r.p99)),
    cpuUsPerRequest: median(list.map((r) => r.cpuUsPerRequest)),
    runs: list,
  };
  const plain = summary(runs.plain);
  const intercepted = summary(runs.intercepted);
  const guarded = summary(runs.guarded);
  const ratio = guarded === null ? null : guarded.median / plain.median;
  const pending = server.guarded === true ? null : server.guarded;
  const cpus = os.cpus();
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model?.trim(), cores: cpus.length, node: process.version, loadAfter: os.loadavg()[0] },
    config,
    plain,
    intercepted,
    guarded,
    ratio,
    interceptedRatio: intercepted.median / plain.median,
    pending,
  };

  const row = (label, s) => s === null ? `| ${label} | ${pending} | | | | | |`
    : `| ${label} | ${Math.round(s.median).toLocaleString('en-US')} | ${((s.median / plain.median) * 100).toFixed(1)}% | ${s.cpuUsPerRequest.toFixed(1)} µs `
      + `| ${s === plain ? '—' : `${s.cpuUsPerRequest - plain.cpuUsPerRequest >= 0 ? '+' : '−'}${Math.abs(s.cpuUsPerRequest - plain.cpuUsPerRequest).toFixed(1)} µs`} | ${s.p50Ms} ms | ${s.p99Ms} ms |`;
  process.stdout.write([
    '### HTTP: one Nest route (express) with and without `@CircuitBreaker`',
    '',
    `autocannon on loopback, ${config.connections} connections, median of ${config.rounds} rounds × ${config.durationS} s per route (alternating), `
      + `after ${config.warmupS} s warm-up; ${result.machine.cpu}, ${result.machine.cores} cores, Node ${process.version}; `
      + `load average ${result.machine.loadAfter.toFixed(2)} after (req/s suffers from other processes on these cores; the server's CPU time per request much less).`,
    '',
    '| route | req/s | of the plain route | server CPU per request | over the plain route | p50 latency | p99 latency |',
    '|---|--:|--:|--:|--:|--:|--:|',
    row('`GET /plain`', plain),
    row('`GET /intercepted` (a no-op interceptor, for reference)', intercepted),
    row('`GET /guarded` (`@CircuitBreaker`)', guarded),
    '',
    ratio === null ? `target (≥ 95%): PENDING, ${pending}` : `target (≥ 95%): ${ratio >= 0.95 ? 'PASS' : 'MISS'} (${(ratio * 100).toFixed(1)}%)`,
    '',
  ].join('\n'));

  await mkdir(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  await writeFile(new URL('./results/http-latest.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
