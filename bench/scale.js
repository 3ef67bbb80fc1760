// `npm run bench:scale`: what thousands of breakers in one process cost: heap per breaker,
// and the time of a `/metrics` scrape, `GET /circuit-breakers` (all, and `?state=open`),
// `/health/detailed` and a new event-stream client, each with the server's longest event-loop stall
// meanwhile (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution, reset before each measurement).
//
//   node --expose-gc bench/scale.js                     (after `npm run build`; npm run bench:scale does both)
//   SCALE_SIZES=10000 SCALE_REPS=9 SCALE_WARMUP=2 …     the sizes, rounds (default 7, 3 above 20k) and discarded warm-up rounds
//   SCALE_SERVER_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' …   more node flags for the server processes
//
// Every size runs in a server process of its own (bench/scale/server.js), with the requests sent from
// this one, so that the client's work is neither in the server's stalls nor on its heap. Prints
// markdown tables and writes bench/results/scale-latest.json.

import { fork } from 'node:child_process';
import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ask, openStream, timedGet } from './scale/client.js';
import { envInt } from './env.js';
import { median } from './measure.js';

/** The issue's targets, which apply at 10,000 breakers. */
const TARGET_SIZE = 10_000;
const STALL_TARGET_MS = 20;

function readConfig(env) {
  const raw = env.SCALE_SIZES ?? '10000,100000';
  const sizes = raw.split(',').map((s) => Number(s.trim()));
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 10)) {
    throw new Error(`SCALE_SIZES=${JSON.stringify(raw)}: expected comma-separated integers >= 10, e.g. 10000,100000`);
  }
  const serverFlags = (env.SCALE_SERVER_FLAGS ?? '').split(/\s+/).filter((s) => s !== '');
  // A 100k scrape takes seconds: fewer rounds there, so that both sizes finish within minutes.
  const reps = envInt(env, 'SCALE_REPS', 0, 1);
  return { sizes, reps: (n) => reps || (n > 20_000 ? 3 : 7), warmup: envInt(env, 'SCALE_WARMUP', 1, 0), serverFlags };
}

function startServer(n, serverFlags) {
  const child = fork(fileURLToPath(new URL('./scale/server.js', import.meta.url)), {
    execArgv: ['--expose-gc', '--max-old-space-size=4096', ...serverFlags],
    env: { ...process.env, SCALE_N: String(n) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`bench/scale/server.js exited with code ${code} before listening`));
    child.once('exit', onExit);
    child.once('message', (msg) => {
      child.off('exit', onExit);
      resolve({ child, ...msg });
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The measurements, each `(ctx) => Promise<{ id, ms?, bytes?, stallMs }[]>`: one or more rows per call. */
function measurementsFor(server, agent) {
  const { child, port } = server;
  // Whatever the server does between the reset and the read: its longest stall.
  const stalled = async (fn) => {
    await ask(child, 'reset');
    const out = await fn();
    const { maxMs } = await ask(child, 'read');
    return { ...out, stallMs: maxMs };
  };
  const down = (server.states.open ?? 0) + (server.states.forced_open ?? 0) > 0;
  const get = (id, path, status = 200) => async () => [{ id, ...(await stalled(() => timedGet(agent, port, path, status))) }];
  return [
    get('metrics', '/metrics'),
    get('metricsStreamed', '/streamed/metrics'),
    get('list', '/circuit-breakers'),
    get('listOpen', '/circuit-breakers?state=open'),
    // Terminus answers 503 while a critical breaker (by default: any) is open or forced open.
    get('health', '/health/detailed', down ? 503 : 200),
    get('healthNotClosed', '/health/ready', down ? 503 : 200),
    async () => {
      let first;
      let second;
      const rows = [];
      rows.push({ id: 'sseFirst', ...(await stalled(async () => {
        first = await openStream(port, '/circuit-breakers/events');
        return { ms: first.ms };
      })) });
      rows.push({ id: 'sseNext', ...(await stalled(async () => {
        second = await openStream(port, '/circuit-breakers/events');
        return { ms: second.ms };
      })) });
      second.close();
      await sleep(50);
      rows.push({ id: 'sseLeave', ...(await stalled(async () => {
        first.close();
        // The server detaches its listeners once it sees the socket close; a longer detach shows as
        // a stall that delays the read below, so it is still counted.
        await sleep(100);
        return {};
      })) });
      return rows;
    },
  ];
}

const ROWS = [
  { id: 'metrics', label: '`GET /metrics` (your route serving `await registry.metrics()`)', target: 50 },
  { id: 'metricsStreamed', label: '`GET /metrics` (`CircuitBreakerMetricsModule.forRoot({ path })`, streamed in slices)', target: 50 },
  { id: 'list', label: '`GET /circuit-breakers`', target: 50 },
  { id: 'listOpen', label: '`GET /circuit-breakers?state=open`', target: 50 },
  { id: 'health', label: '`GET /health/detailed` (every breaker in the details)', target: 20 },
  { id: 'healthNotClosed', label: "`GET /health/detailed` with `details: 'not_closed'`", target: 20 },
  { id: 'sseFirst', label: 'event stream: a first client connects (listeners attached to every breaker)', target: 50 },
  { id: 'sseNext', label: 'event stream: a client connects while another is connected', target: 50 },
  { id: 'sseLeave', label: 'event stream: the last client leaves (listeners detached)', target: null },
];

async function runSize(n, config) {
  process.stderr.write(`[bench:scale] ${n.toLocaleString('en-US')} breakers: creating, traffic…\n`);
  const server = await startServer(n, config.serverFlags);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const runs = Object.fromEntries(ROWS.map((r) => [r.id, []]));
  try {
    const measurements = measurementsFor(server, agent);
    const rounds = config.warmup + config.reps(n);
    for (let round = 0; round < rounds; round++) {
      process.stderr.write(`[bench:scale] ${n.toLocaleString('en-US')}: ${round < config.warmup ? 'warm-up' : 'round'} ${round < config.warmup ? round + 1 : round - config.warmup + 1}\n`);
      // A different first measurement each round: none always runs right after another's garbage.
      for (let j = 0; j < measurements.length; j++) {
        const rows = await measurements[(round + j) % measurements.length]();
        if (round >= config.warmup) for (const row of rows) runs[row.id].push(row);
      }
    }
  } finally {
    agent.destroy();
    server.child.send({ cmd: 'stop' });
    await new Promise((resolve) => server.child.once('exit', resolve));
  }
  const inTarget = n === TARGET_SIZE;
  const results = {};
  for (const row of ROWS) {
    const list = runs[row.id];
    const times = list.map((r) => r.ms).filter((v) => v !== undefined);
    const stalls = list.map((r) => r.stallMs);
    const r = {
      label: row.label,
      bytes: list[0]?.bytes ?? null,
      medianMs: times.length > 0 ? median(times) : null,
      maxMs: times.length > 0 ? Math.max(...times) : null,
      stallMedianMs: median(stalls),
      stallMaxMs: Math.max(...stalls),
      targetMs: row.target,
      runs: list,
    };
    if (inTarget) {
      r.met = {
        time: row.target === null ? null : r.medianMs <= row.target,
        stall: r.stallMedianMs <= STALL_TARGET_MS,
      };
    }
    results[row.id] = r;
  }
  const { heap } = server;
  return {
    n,
    withTraffic: Math.ceil(n / 2),
    states: server.states,
    heap: {
      ...heap,
      bytesPerBreakerCreated: (heap.created - heap.before) / n,
      bytesPerBreakerAfterTraffic: (heap.traffic - heap.before) / n,
    },
    setupMs: server.setupMs,
    results,
  };
}

const fmtMs = (v) => v === null ? '—' : v >= 100 ? `${Math.round(v).toLocaleString('en-US')} ms` : `${v.toFixed(1)} ms`;
const fmtBytes = (b) => b === null || b === undefined ? '—' : b >= 1e6 ? `${(b / 1e6).toFixed(1)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`;
const mark = (ok) => ok === null || ok === undefined ? '' : ok ? 'met' : '**missed**';

function sizeTable(size, config) {
  const { n, heap, states, setupMs } = size;
  const stateList = Object.entries(states).map(([s, c]) => `${c.toLocaleString('en-US')} ${s}`).join(', ');
  const lines = [
    `### ${n.toLocaleString('en-US')} breakers`,
    '',
    `${size.withTraffic.toLocaleString('en-US')} with traffic; states: ${stateList}. Created in ${fmtMs(setupMs.create)} `
      + `(${((setupMs.create * 1000) / n).toFixed(2)} µs per \`getOrCreate\`), traffic in ${fmtMs(setupMs.traffic)}.`,
    '',
    `Heap per breaker (heapUsed delta after \`gc()\`, the metrics' duration-histogram listener and series included): `
      + `**${Math.round(heap.bytesPerBreakerCreated)} B** after creation, **${Math.round(heap.bytesPerBreakerAfterTraffic)} B** after the traffic.`,
    '',
    `| measurement | response | time, median | time, max | longest stall, median | longest stall, max | target${n === TARGET_SIZE ? '' : ' (at 10k)'} |${n === TARGET_SIZE ? ' time | stall |' : ''}`,
    `|---|--:|--:|--:|--:|--:|---|${n === TARGET_SIZE ? '---|---|' : ''}`,
  ];
  for (const row of ROWS) {
    const r = size.results[row.id];
    const target = `${r.targetMs === null ? '' : `≤ ${r.targetMs} ms, `}stall ≤ ${STALL_TARGET_MS} ms`;
    const marks = n === TARGET_SIZE ? ` ${mark(r.met.time)} | ${mark(r.met.stall)} |` : '';
    lines.push(`| ${r.label} | ${fmtBytes(r.bytes)} | ${fmtMs(r.medianMs)} | ${fmtMs(r.maxMs)} | ${fmtMs(r.stallMedianMs)} | ${fmtMs(r.stallMaxMs)} | ${target} |${marks}`);
  }
  lines.push('', `Median and max over ${config.reps(n)} rounds (after ${config.warmup} discarded); met/missed judged on the medians.`, '');
  return lines.join('\n');
}

async function main() {
  const config = readConfig(process.env);
  const started = performance.now();
  const sizes = [];
  for (const n of config.sizes) sizes.push(await runSize(n, config));
  const cpus = os.cpus();
  const result = {
    date: new Date().toISOString(),
    machine: { cpu: cpus[0]?.model?.trim(), cores: cpus.length, node: process.version, loadAfter: os.loadavg()[0] },
    config: { ...config, reps: Object.fromEntries(config.sizes.map((n) => [n, config.reps(n)])) },
    targets: { size: TARGET_SIZE, stallMs: STALL_TARGET_MS, ...Object.fromEntries(ROWS.filter((r) => r.target !== null).map((r) => [r.id, r.target])) },
    durationS: (performance.now() - started) / 1000,
    sizes,
  };
  process.stdout.write([
    '## Scale: breakers per process',
    '',
    `A Nest application (express) with the management API, Prometheus metrics and \`/health/detailed\`; the requests `
      + `come from another process, one at a time. Times are client-side, request to last byte; the stall is the server's `
      + `longest event-loop delay during the request (\`monitorEventLoopDelay\`, 1 ms resolution, so an idle loop reads about 1 ms). `
      + `${result.machine.cpu}, ${result.machine.cores} cores, Node ${process.version}, load average ${result.machine.loadAfter.toFixed(2)} after `
      + `(other processes on these cores add noise, the max columns most). Took ${result.durationS.toFixed(0)} s.`,
    '',
    ...sizes.map((size) => sizeTable(size, config)),
  ].join('\n'));

  await mkdir(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  await writeFile(new URL('./results/scale-latest.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
