// `npm run test:load`: load and soak test of the BUILT sample app (see README, "Reliability").
//
// The sample app runs as a child process on a free loopback port (PORT=0), compiled against dist/
// (`npm run build` first, as the npm script does). autocannon sends traffic for LOAD_DURATION_S
// (30 s) to the three protected routes while the sample's simulated downstream flaps between healthy,
// failing and flaky (POST /downstream/config), and a monitor reads the management API, readiness and
// metrics. At the end it checks:
//   1. status codes: only 200, the downstream's own errors (502 "The catalog service answered …")
//      and the breakers' 503s (SPEC body naming a breaker, with Retry-After); nothing else, no socket
//      error, no timeout;
//   2. accounting: for each breaker, total_requests + total_ignored (every call is exactly one of
//      success, failure, rejection or ignored) equals the requests its route received, as counted by
//      Node's HTTP server below Nest (test/load/request-counter.js); and the requests autocannon got
//      an answer to ≤ the requests received ≤ the requests it sent (the difference: requests in flight
//      when autocannon stopped and closed its connections — received and counted, answer unread);
//   3. memory: after warm-up (the first LOAD_WARMUP_S seconds), the app's RSS (sampled every 200 ms)
//      never peaks 10% or more above its peak during warm-up, and its heap used after a full GC is
//      less than 10% above what it was at the end of warm-up. (RSS is compared peak to peak: it swings
//      by ±20% within seconds with the GC cycle and the allocator, live memory unchanged, so two
//      single readings say nothing);
//   4. the app's output: Nest log lines only; WARN/ERROR only for the expected lines (the downstream
//      being reconfigured, breakers opening, readiness reported down while they are open); no Node
//      warning, no unhandled rejection;
//   5. the flapping really moved the breakers (each opened and closed again several times), and the
//      app exits on SIGTERM.
// The figures are printed and written to test/load/last-run.json. Exit code 1 on any failed check.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const OUT_DIR = join(ROOT, 'test', 'artifacts', 'load-sample-app');
const RESULT_FILE = join(HERE, 'last-run.json');

const DURATION_S = positiveNumber('LOAD_DURATION_S', 30);
const WARMUP_S = positiveNumber('LOAD_WARMUP_S', Math.min(10, DURATION_S / 3));
const CONNECTIONS = positiveNumber('LOAD_CONNECTIONS', 16);
/** healthy → failing → flaky, this long each, over and over */
const PHASE_MS = 2_000;
const PHASES = [
  { name: 'healthy', failureRate: 0 },
  { name: 'failing', failureRate: 1 },
  { name: 'flaky', failureRate: 0.5 },
];
const MONITOR_INTERVAL_MS = 500;
const MAX_GROWTH = 0.1;
const RSS_SAMPLE_MS = 200;
const MIN_OPENINGS = 3;
const ADMIN_TOKEN = 'load-test-token';

/** The protected routes under load, and the breaker that guards each. */
const ROUTES = [
  { path: '/products/1', breaker: 'catalog' },
  { path: '/products', breaker: 'catalog-list' },
  { path: '/recommendations', breaker: 'recommendations' },
  { path: '/products/2', breaker: 'catalog' },
  { path: '/products/3', breaker: 'catalog' },
];
const BREAKERS = [...new Set(ROUTES.map((r) => r.breaker))];

function positiveNumber(variable, fallback) {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`${variable}=${JSON.stringify(raw)}: expected a positive number`);
  return value;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Compiles the sample app against dist/ into test/artifacts/ (sample-app/dist is left to `npm start`). */
async function buildSampleApp() {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'sample-app', 'tsconfig.json'), '--outDir', OUT_DIR], { cwd: ROOT });
  } catch (error) {
    throw new Error(`the sample app did not compile (run \`npm run build\` first):\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
  return join(OUT_DIR, 'main.js');
}

/** Starts the app with the request counter preloaded; resolves once it listens. */
async function startApp(main) {
  const child = spawn(process.execPath, ['--expose-gc', '--import', pathToFileURL(join(HERE, 'request-counter.js')).href, main], {
    cwd: ROOT,
    env: {
      // not the caller's breaker settings, shared store or external downstream: the sample as it ships
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(CIRCUIT_BREAKER_|REDIS_URL$|DOWNSTREAM_URL$)/.test(name))),
      NO_COLOR: '1',
      PORT: '0',
      HOST: '127.0.0.1',
      CIRCUIT_BREAKER_ADMIN_TOKEN: ADMIN_TOKEN,
      // open periods of 1 s: the breakers go through many cycles in 30 s
      CIRCUIT_BREAKER_TIMEOUT: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sample app did not start within 30 s:\n${output}`)), 30_000);
    const onData = () => {
      const match = /Sample app listening on http:\/\/[^:\s]+:(\d+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(Number(match[1]));
    };
    child.stdout.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the sample app exited (${signal ?? code}) before listening:\n${output}`));
    });
  });
  /** Asks request-counter.js (over IPC) for `load:counts` or `load:memory`. */
  const ask = (type) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not answer ${type}`)), 5_000);
    const onMessage = (message) => {
      if (message?.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
  /** Requests counted on the app's own port (not the simulated downstream's). */
  const receivedCounts = async () => (await ask('load:counts')).counts[String(port)] ?? {};
  /** The app's memory after full garbage collections. */
  const memory = async () => (await ask('load:memory')).memory;
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited, receivedCounts, memory };
}

/** VmRSS of a process, in bytes (Linux), else undefined. */
function rssOf(pid) {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb === null ? undefined : Number(kb[1]) * 1024;
  } catch {
    return undefined;
  }
}

async function json(url, init) {
  const res = await fetch(url, init);
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

/** Per-breaker transition counts from the Prometheus scrape: `{ name: { 'closed>open': n, … } }`. */
function transitionsFromMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('circuit_breaker_state_transitions_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    (out[labels.name] ??= {})[`${labels.from}>${labels.to}`] = value;
  }
  return out;
}

/** What an answer of a protected route is: `ok`, `downstream` (502), `breaker` (503), or unexpected. */
function classify(status, body, headers) {
  if (status === 200) return 'ok';
  let parsed;
  try {
    parsed = JSON.parse(body);
  } catch {
    return 'unexpected';
  }
  if (status === 502 && /^The catalog service answered 500 /.test(parsed.message)) return 'downstream';
  const retryAfter = Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
  if (status === 503 && BREAKERS.includes(parsed.breaker) && /^\d+$/.test(String(retryAfter)) && Number(retryAfter) === parsed.retry_after) return 'breaker';
  return 'unexpected';
}

/**
 * Log lines allowed at WARN / ERROR: the simulated downstream being reconfigured (by this test), a
 * breaker opening (the library logs CLOSED → OPEN / HALF_OPEN → OPEN at error level, README), and
 * Terminus reporting the readiness check down because critical breakers are open.
 */
const EXPECTED_LOUD_LINES = [
  /^WARN \[FlakyDownstream\] Simulated downstream now fails /,
  /^ERROR \[CircuitBreaker\] CircuitBreaker '[^']+': (CLOSED|HALF_OPEN) → OPEN \(.+\)$/,
  /^ERROR (\[[^\]]+\] )?Health Check has failed! \{"circuit_breakers":\{.*"message":"Critical circuit breakers reject calls: [^"]+","status":"down"\}\}$/,
];
const NEST_LINE = /^\[Nest\] \d+ +- .+? +(LOG|WARN|ERROR|DEBUG|VERBOSE|FATAL) (.*)$/;

/** Every line of the app's output that is not a Nest log line, or a WARN/ERROR line not expected. */
function unexpectedOutput(output) {
  const bad = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const nest = NEST_LINE.exec(line);
    if (nest === null) {
      bad.push(line);
      continue;
    }
    const [, level, rest] = nest;
    if (level === 'LOG' || level === 'DEBUG' || level === 'VERBOSE') continue;
    if (!EXPECTED_LOUD_LINES.some((re) => re.test(`${level} ${rest}`))) bad.push(line);
  }
  return bad;
}

const percentOf = (part, whole) => (whole === 0 ? 0 : Math.round((part / whole) * 1000) / 10);
const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main() {
  const failures = [];
  const expect = (ok, message) => {
    if (!ok) failures.push(message);
  };

  console.log(`load: compiling the sample app into ${OUT_DIR}`);
  const main = await buildSampleApp();
  const app = await startApp(main);
  console.log(`load: sample app (pid ${app.child.pid}) on ${app.url}; ${DURATION_S} s of traffic, ${CONNECTIONS} connections, warm-up ${WARMUP_S} s`);

  const outcomes = { ok: 0, downstream: 0, breaker: 0, unexpected: 0 };
  const answeredByPath = {};
  const unexpectedExamples = [];
  const monitorProblems = [];
  const rssSamples = [];
  const phasesRun = [];
  let stopping = false;

  try {
    // Every product seen once while healthy: from then on the catalog fallback can serve stale copies.
    for (const route of ROUTES) {
      const res = await json(app.url + route.path);
      expect(res.status === 200, `priming GET ${route.path} answered ${res.status}`);
    }
    // Deltas from here on: the load phase alone. (Priming also runs each method once, which is where
    // a method whose return type is not known at bootstrap has its kind learned: one ignored permit.)
    const primed = await app.receivedCounts();
    const primedTotals = (await json(`${app.url}/circuit-breakers`)).body.breakers;

    const started = Date.now();
    const flapper = (async () => {
      for (let i = 0; !stopping; i++) {
        const phase = PHASES[i % PHASES.length];
        const res = await json(`${app.url}/downstream/config`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ failureRate: phase.failureRate }),
        });
        expect(res.status === 200, `POST /downstream/config answered ${res.status}`);
        phasesRun.push({ at_s: Math.round((Date.now() - started) / 100) / 10, phase: phase.name });
        const until = Date.now() + PHASE_MS;
        while (!stopping && Date.now() < until) await sleep(50);
      }
    })();
    const monitor = (async () => {
      while (!stopping) {
        const list = await json(`${app.url}/circuit-breakers`);
        if (list.status !== 200 || typeof list.body?.summary?.total_breakers !== 'number') monitorProblems.push(`GET /circuit-breakers: ${list.status}`);
        const health = await json(`${app.url}/health/detailed`);
        const breakersDown = health.status === 503 && health.body?.details?.circuit_breakers?.status === 'down';
        if (health.status !== 200 && !breakersDown) monitorProblems.push(`GET /health/detailed: ${health.status} ${JSON.stringify(health.body)}`);
        const metrics = await fetch(`${app.url}/metrics`);
        if (metrics.status !== 200) monitorProblems.push(`GET /metrics: ${metrics.status}`);
        await metrics.arrayBuffer();
        await sleep(MONITOR_INTERVAL_MS);
      }
    })();
    // The heap after full GCs, under load: at the end of warm-up, and 1 s before traffic ends.
    const memoryAt = (seconds) => sleep(seconds * 1000 - (Date.now() - started)).then(() => app.memory());
    const memoryChecks = Promise.all([memoryAt(WARMUP_S), memoryAt(DURATION_S - 1)]);
    const rssTimer = setInterval(() => {
      const rss = rssOf(app.child.pid);
      if (rss !== undefined) rssSamples.push({ t: (Date.now() - started) / 1000, rss });
    }, RSS_SAMPLE_MS);

    const onResponse = (path) => (status, body, _context, headers) => {
      const kind = classify(status, body, headers);
      outcomes[kind]++;
      answeredByPath[path] = (answeredByPath[path] ?? 0) + 1;
      if (kind === 'unexpected' && unexpectedExamples.length < 5) unexpectedExamples.push(`${path}: ${status} ${String(body).slice(0, 200)}`);
    };
    const result = await autocannon({
      url: app.url,
      connections: CONNECTIONS,
      duration: DURATION_S,
      requests: ROUTES.map((route) => ({ method: 'GET', path: route.path, onResponse: onResponse(route.path) })),
    });
    const trafficEnded = Date.now();
    stopping = true;
    clearInterval(rssTimer);
    await Promise.all([flapper, monitor]);
    const [warmupMemory, endMemory] = await memoryChecks;

    // Requests in flight when autocannon closed its connections still run: wait until the totals settle.
    let snapshot;
    let received;
    for (let settled = 0, last = ''; settled < 3;) {
      await sleep(200);
      snapshot = (await json(`${app.url}/circuit-breakers`)).body;
      received = await app.receivedCounts();
      const now = JSON.stringify([snapshot.breakers, received]);
      settled = now === last ? settled + 1 : 0;
      last = now;
      if (Date.now() - trafficEnded > 10_000) break;
    }
    const transitions = transitionsFromMetrics(await (await fetch(`${app.url}/metrics`)).text());

    // ---- checks
    const peakOf = (samples) => samples.reduce((max, s) => Math.max(max, s.rss), 0);
    const warmupPeak = peakOf(rssSamples.filter((s) => s.t <= WARMUP_S));
    const laterPeak = peakOf(rssSamples.filter((s) => s.t > WARMUP_S));
    const rssGrowth = (laterPeak - warmupPeak) / warmupPeak;
    const heapGrowth = (endMemory.heapUsed - warmupMemory.heapUsed) / warmupMemory.heapUsed;

    expect(outcomes.unexpected === 0, `${outcomes.unexpected} unexpected answers, e.g. ${unexpectedExamples.join(' | ')}`);
    expect(result.errors === 0 && result.timeouts === 0, `autocannon saw ${result.errors} socket errors and ${result.timeouts} timeouts`);
    expect(result.non2xx === outcomes.downstream + outcomes.breaker, `non-2xx answers: autocannon ${result.non2xx}, classified ${outcomes.downstream + outcomes.breaker}`);
    expect(monitorProblems.length === 0, `monitor: ${monitorProblems.slice(0, 5).join(' | ')}`);

    const accounting = BREAKERS.map((name) => {
      const paths = ROUTES.filter((r) => r.breaker === name).map((r) => r.path);
      const s = snapshot.breakers[name];
      const p = primedTotals[name];
      const sum = (counts) => paths.reduce((n, path) => n + (counts[path] ?? 0), 0);
      const row = {
        breaker: name,
        routes: paths.join(' '),
        received: sum(received) - sum(primed),
        answered: sum(answeredByPath),
        accounted: s.total_requests + s.total_ignored - (p.total_requests + p.total_ignored),
        successes: s.total_successes - p.total_successes,
        failures: s.total_failures - p.total_failures,
        rejections: s.total_rejections - p.total_rejections,
        ignored: s.total_ignored - p.total_ignored,
        timeouts: s.total_timeouts - p.total_timeouts,
      };
      expect(s.total_requests === s.total_successes + s.total_failures + s.total_rejections, `${name}: total_requests ${s.total_requests} is not successes + failures + rejections`);
      expect(row.accounted === row.received, `${name}: the breaker accounts for ${row.accounted} calls, its routes received ${row.received} requests`);
      expect(row.answered <= row.received, `${name}: ${row.answered} answers for ${row.received} requests received`);
      const opened = (transitions[name]?.['closed>open'] ?? 0) + (transitions[name]?.['half_open>open'] ?? 0);
      const closed = transitions[name]?.['half_open>closed'] ?? 0;
      expect(opened >= MIN_OPENINGS && closed >= MIN_OPENINGS, `${name}: opened ${opened} and closed ${closed} times; the flapping should make both >= ${MIN_OPENINGS}`);
      return { ...row, opened, closed_again: closed };
    });
    const totalReceived = accounting.reduce((n, r) => n + r.received, 0);
    const totalAnswered = accounting.reduce((n, r) => n + r.answered, 0);
    expect(totalAnswered === result.requests.total, `answers counted ${totalAnswered}, autocannon ${result.requests.total}`);
    expect(totalReceived <= result.requests.sent, `the app received ${totalReceived} requests, autocannon sent ${result.requests.sent}`);
    expect(totalReceived - totalAnswered <= CONNECTIONS, `${totalReceived - totalAnswered} requests received but not answered: more than the ${CONNECTIONS} that can be in flight at the stop`);

    expect(rssSamples.length > 0, 'no RSS samples (/proc/<pid>/status: Linux only)');
    expect(!(rssGrowth >= MAX_GROWTH), `RSS peaked ${(rssGrowth * 100).toFixed(1)}% above its warm-up peak (limit ${MAX_GROWTH * 100}%)`);
    expect(!(heapGrowth >= MAX_GROWTH), `the heap used after a full GC grew ${(heapGrowth * 100).toFixed(1)}% after warm-up (limit ${MAX_GROWTH * 100}%)`);

    // ---- shutdown
    const stopAt = Date.now();
    app.child.kill('SIGTERM');
    const exit = await Promise.race([app.exited, sleep(10_000).then(() => undefined)]);
    expect(exit !== undefined, 'the app did not exit within 10 s of SIGTERM');
    if (exit === undefined) app.child.kill('SIGKILL');
    const exitMs = Date.now() - stopAt;
    await sleep(50); // the last output
    const noisy = unexpectedOutput(app.output());
    expect(noisy.length === 0, `unexpected output from the app (${noisy.length} lines):\n    ${noisy.slice(0, 10).join('\n    ')}`);

    // ---- figures
    const figures = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
      settings: { duration_s: DURATION_S, warmup_s: WARMUP_S, connections: CONNECTIONS, phase_ms: PHASE_MS, phases: PHASES.map((p) => `${p.name} (failureRate ${p.failureRate})`), reset_timeout_s: 1 },
      requests: {
        per_second: { average: result.requests.average, min: result.requests.min, max: result.requests.max },
        sent: result.requests.sent,
        answered: result.requests.total,
        received_by_app: totalReceived,
        in_flight_at_stop: totalReceived - totalAnswered,
      },
      latency_ms: { average: result.latency.average, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
      answers: {
        ok_200: outcomes.ok,
        downstream_502: outcomes.downstream,
        breaker_503: outcomes.breaker,
        unexpected: outcomes.unexpected,
        share: { ok: percentOf(outcomes.ok, result.requests.total), downstream: percentOf(outcomes.downstream, result.requests.total), breaker: percentOf(outcomes.breaker, result.requests.total) },
      },
      accounting,
      memory_mb: {
        rss_peak_warmup: mb(warmupPeak),
        rss_peak_after_warmup: mb(laterPeak),
        rss_growth_percent: Math.round(rssGrowth * 1000) / 10,
        rss_every_5_s: rssSamples.filter((s, i) => i > 0 && Math.floor(s.t / 5) > Math.floor(rssSamples[i - 1].t / 5)).map((s) => mb(s.rss)),
        heap_used_after_gc_warmup: mb(warmupMemory.heapUsed),
        heap_used_after_gc_end: mb(endMemory.heapUsed),
        heap_growth_percent: Math.round(heapGrowth * 1000) / 10,
      },
      downstream_phases: phasesRun.length,
      exit_after_sigterm_ms: exitMs,
      exit: exit ?? 'killed',
      passed: failures.length === 0,
      failures,
    };
    writeFileSync(RESULT_FILE, `${JSON.stringify(figures, null, 2)}\n`);
    printSummary(figures);
  } finally {
    stopping = true;
    if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
  }

  if (failures.length > 0) {
    console.error(`\nload: FAILED\n  - ${failures.join('\n  - ')}`);
    process.exitCode = 1;
  } else {
    console.log('\nload: all checks passed');
  }
}

function printSummary(f) {
  const r = f.requests;
  const l = f.latency_ms;
  const a = f.answers;
  const m = f.memory_mb;
  const signed = (n) => (n >= 0 ? `+${n}` : String(n));
  console.log(`
load: ${f.settings.duration_s} s, ${f.settings.connections} connections, downstream ${f.settings.phases.join(' → ')} every ${f.settings.phase_ms / 1000} s (${f.downstream_phases} phases)
  machine      ${f.machine.cpus} × ${f.machine.cpu}, node ${f.machine.node}
  throughput   ${r.per_second.average} req/s on average (min ${r.per_second.min}, max ${r.per_second.max}); ${r.answered} answered, ${r.sent} sent
  latency      avg ${l.average} ms, p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms
  answers      200: ${a.ok_200} (${a.share.ok}%), 502 downstream: ${a.downstream_502} (${a.share.downstream}%), 503 breaker: ${a.breaker_503} (${a.share.breaker}%), unexpected: ${a.unexpected}
  accounting   requests received by the app = the breakers' total_requests + total_ignored:`);
  for (const row of f.accounting) {
    console.log(`    ${row.breaker.padEnd(16)} received ${String(row.received).padStart(7)}  accounted ${String(row.accounted).padStart(7)}  answered ${String(row.answered).padStart(7)}  `
      + `(${row.successes} ok, ${row.failures} failed, ${row.rejections} rejected, ${row.ignored} ignored; opened ${row.opened}×, closed again ${row.closed_again}×)`);
  }
  console.log(`    in flight when autocannon stopped (received, answer not read): ${r.in_flight_at_stop}
  RSS          peak ${m.rss_peak_warmup} MB during warm-up, ${m.rss_peak_after_warmup} MB after (${signed(m.rss_growth_percent)}%); every 5 s: ${m.rss_every_5_s.join(', ')} MB
  heap used    after a full GC: ${m.heap_used_after_gc_warmup} MB at the end of warm-up, ${m.heap_used_after_gc_end} MB 1 s before the end (${signed(m.heap_growth_percent)}%)
  shutdown     exited ${f.exit.signal ?? `with code ${f.exit.code}`} ${f.exit_after_sigterm_ms} ms after SIGTERM
  written to   ${RESULT_FILE.slice(ROOT.length + 1)}`);
}

await main();
