// `npm run bench`: every subject side by side in one process, medians over several runs.
//
//   node --expose-gc bench/index.js            (after `npm run build`; `npm run bench` does both)
//   BENCH_RUNS=9 BENCH_TIME_MS=300 …           more runs / longer samples
//   BENCH_ONLY=closed,open …                   only some scenarios (closed, inflight, open, mix, failure, breaker)
//   BENCH_LIB=/tmp/patched/index.js …          another build of the library instead of ../dist/index.js
//   BENCH_BASELINE=/tmp/old/dist/index.js …    an earlier build, measured side by side (rows "— baseline build")
//   BENCH_OUT=patched.json …                   the results file's name in bench/results/ (default latest.json)
//
// Prints markdown tables and the targets block to stdout (progress to stderr) and writes
// bench/results/latest.json. Uses mitata's sampler (`measure`): it batches calls, awaits each one,
// and reports percentiles, which lets the tables use the median batch of every run.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ANCHORS, evaluateTargets, failureCostTable, perBreakerTable, scenarioTable, summaryTables, targetsBlock } from './report.js';
import { CALL_SCENARIOS, checkOpenError, runCallScenario, runFailureCost, runPerBreaker, runTimers } from './scenarios.js';
import { coreSubjects, windowSubjects } from './subjects.js';
import { nestSubject } from './nest-support.js';
import { median } from './measure.js';
import { envInt } from './env.js';

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const WINDOW_SIZES = [1_000, 100_000];

function readConfig(env) {
  const int = (name, fallback, min) => envInt(env, name, fallback, min);
  const all = ['closed', 'inflight', 'open', 'mix', 'failure', 'breaker'];
  const only = env.BENCH_ONLY ? env.BENCH_ONLY.split(',').map((s) => s.trim()) : all;
  const unknown = only.filter((s) => !all.includes(s));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY=${JSON.stringify(env.BENCH_ONLY)}: unknown ${unknown.join(', ')}; expected some of ${all.join(', ')}`);
  return {
    runs: int('BENCH_RUNS', 7, 1),
    timeMs: int('BENCH_TIME_MS', 120, 10),
    breakers: int('BENCH_BREAKERS', 10_000, 100),
    only,
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}

/** Rotates the subject order each run, so no subject always runs right after the same neighbour. */
function rotated(list, run) {
  const k = run % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

function summarise(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values };
}

async function readHttpResults() {
  try {
    return JSON.parse(await readFile(new URL('./results/http-latest.json', import.meta.url), 'utf8'));
  } catch {
    return null;
  }
}

async function main() {
  if (typeof globalThis.gc !== 'function') throw new Error('bench/index.js needs `node --expose-gc` (npm run bench passes it)');
  const config = readConfig(process.env);
  // BENCH_LIB points at another build (e.g. a patched copy of dist/) to compare engines.
  const lib = await import(process.env.BENCH_LIB ? pathToFileURL(path.resolve(process.env.BENCH_LIB)).href : '../dist/index.js');
  const started = performance.now();
  const loadBefore = os.loadavg()[0];
  const log = (msg) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);

  const libPath = process.env.BENCH_LIB ? path.resolve(process.env.BENCH_LIB) : fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const { registerCircuitBreakerMetrics } = await import(pathToFileURL(path.join(path.dirname(libPath), 'prometheus', 'index.js')).href);
  const { Registry } = await import('prom-client');
  const baseline = process.env.BENCH_BASELINE ? await import(pathToFileURL(path.resolve(process.env.BENCH_BASELINE)).href) : undefined;
  const subjects = coreSubjects(lib, { registerCircuitBreakerMetrics, Registry }, baseline);
  const nest = await nestSubject(lib);
  subjects.push(nest);
  const runnable = subjects.filter((s) => !s.pending);
  const wSubjects = windowSubjects(lib);
  const scenarios = CALL_SCENARIOS.filter((s) => config.only.includes(s.id));

  // A short unrecorded pass first: the first subject measured in a fresh process would otherwise
  // pay for warming up the harness itself (module code, mitata, the promise machinery).
  log('warm-up pass');
  for (const scenario of scenarios) {
    for (const subject of runnable) await runCallScenario(scenario, subject, -1, Math.max(10, config.timeMs / 4));
  }

  const raw = { call: {}, failure: {}, breaker: {} };
  for (let run = 0; run < config.runs; run++) {
    for (const scenario of scenarios) {
      log(`run ${run + 1}/${config.runs}: ${scenario.id}`);
      for (const subject of rotated(runnable, run)) {
        const ns = await runCallScenario(scenario, subject, run, config.timeMs);
        ((raw.call[scenario.id] ??= {})[subject.id] ??= []).push(ns);
      }
    }
    if (config.only.includes('failure')) {
      log(`run ${run + 1}/${config.runs}: failure cost`);
      for (const size of WINDOW_SIZES) {
        for (const subject of rotated(wSubjects, run)) {
          const r = await runFailureCost(subject, size, run);
          ((raw.failure[subject.id] ??= {})[size] ??= []).push(r);
        }
      }
    }
    if (config.only.includes('breaker')) {
      log(`run ${run + 1}/${config.runs}: heap and creation`);
      for (const subject of rotated(subjects.filter((s) => s.make), run)) {
        (raw.breaker[subject.id] ??= []).push(await runPerBreaker(subject, config.breakers, run));
      }
    }
  }

  const results = { scenarios: {}, failureCost: { rows: {} }, perBreaker: { rows: {} } };
  for (const scenario of scenarios) {
    const rows = {};
    const bare = median(raw.call[scenario.id].bare ?? []);
    for (const subject of subjects) {
      if (subject.pending) {
        rows[subject.id] = { pending: subject.pending };
        continue;
      }
      const values = raw.call[scenario.id][subject.id];
      if (values === undefined) continue;
      const s = summarise(values);
      rows[subject.id] = { ...s, overhead: s.median - bare };
    }
    results.scenarios[scenario.id] = { title: scenario.title, note: scenario.note, absolute: !!scenario.absolute, rows };
  }
  for (const [sid, bySize] of Object.entries(raw.failure)) {
    results.failureCost.rows[sid] = {};
    for (const [size, list] of Object.entries(bySize)) {
      results.failureCost.rows[sid][size] = {
        failure: median(list.map((r) => r.failure)),
        pair: median(list.map((r) => r.pair)),
        success: median(list.map((r) => r.success)),
        runs: list,
      };
    }
  }
  for (const [sid, list] of Object.entries(raw.breaker)) {
    results.perBreaker.rows[sid] = {
      heapBytes: median(list.map((r) => r.heapBytes)),
      usedHeapBytes: median(list.map((r) => r.usedHeapBytes)),
      creationNs: median(list.map((r) => r.creationNs)),
      runs: list,
    };
  }
  const timers = {};
  if (config.only.includes('breaker')) {
    for (const subject of subjects.filter((s) => s.make)) timers[subject.id] = await runTimers(subject);
  }
  const openCheck = await checkOpenError(lib);
  const http = await readHttpResults();
  const complete = ['closed', 'inflight', 'open', 'mix', 'failure', 'breaker'].every((s) => config.only.includes(s));
  const targets = complete ? evaluateTargets(results, timers, openCheck, http) : [];

  const info = { ...machine(), loadBefore, loadAfter: os.loadavg()[0] };
  const out = [];
  out.push(`## Benchmark — ${new Date().toISOString()}`);
  out.push(`${info.cpu}, ${info.cores} cores, ${info.memoryGB} GB, ${info.os}; Node ${info.node} (V8 ${info.v8}); `
    + `mitata \`measure\`, median of ${config.runs} runs × ${config.timeMs} ms per subject and scenario; anchors: ${ANCHORS.map((a) => a.id).join(', ')}; `
    + `load average ${loadBefore.toFixed(2)} before, ${info.loadAfter.toFixed(2)} after (other processes on these cores add noise).`);
  if (nest.pending) out.push(`\`@CircuitBreaker\` rows: ${nest.pending}.`);
  if (complete) out.push(summaryTables(results, timers, subjects));
  for (const scenario of scenarios) out.push(scenarioTable(scenario, results.scenarios[scenario.id], subjects));
  if (config.only.includes('failure')) out.push(failureCostTable(results.failureCost, wSubjects, WINDOW_SIZES));
  if (config.only.includes('breaker')) out.push(perBreakerTable(results.perBreaker, timers, subjects, config.breakers));
  if (complete) out.push(targetsBlock(targets));
  process.stdout.write(`${out.join('\n\n')}\n`);

  await mkdir(RESULTS_DIR, { recursive: true });
  const json = { date: new Date().toISOString(), machine: info, config, results, timers, openCheck, http, targets };
  const outName = process.env.BENCH_OUT || 'latest.json';
  await writeFile(path.join(RESULTS_DIR, path.basename(outName)), `${JSON.stringify(json, null, 2)}\n`);
  log(`done; wrote bench/results/${path.basename(outName)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
