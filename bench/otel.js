// `npm run build && node bench/otel.js`: the closed-path cost of the OpenTelemetry entry point.
// Three applications side by side, each with one breaker running `async () => 1`:
//   none         no OpenTelemetry registration
//   no provider  registerCircuitBreakerOtel(registry) with no meter and no tracer provider registered
//   meter        registerCircuitBreakerOtel(registry, { meterProvider }) with an SDK MeterProvider
// Prints the median over BENCH_RUNS runs (default 7) of mitata's median, in ns per call.

import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { CircuitBreakerModule, CircuitBreakerRegistry } from '../dist/index.js';
import { registerCircuitBreakerOtel } from '../dist/opentelemetry/index.js';
import { envInt } from './env.js';
import { median, sample } from './measure.js';

const runs = envInt(process.env, 'BENCH_RUNS', 7, 1);
const timeMs = envInt(process.env, 'BENCH_TIME_MS', 120, 10);
const ok = async () => 1;

async function subject(label, register) {
  const app = await NestFactory.createApplicationContext(CircuitBreakerModule.forRoot({}), { logger: false });
  const registry = app.get(CircuitBreakerRegistry);
  const breaker = registry.getOrCreate('bench');
  const stop = register(registry);
  return { label, run: () => breaker.execute(ok), close: async () => { stop(); await app.close(); } };
}

const subjects = [
  await subject('none', () => () => undefined),
  await subject('no provider', (registry) => registerCircuitBreakerOtel(registry)),
  await subject('meter', (registry) => registerCircuitBreakerOtel(registry, { meterProvider: new MeterProvider() })),
];
const results = new Map(subjects.map((s) => [s.label, []]));
for (let run = 0; run < runs; run++) {
  for (const s of [...subjects.slice(run % 3), ...subjects.slice(0, run % 3)]) results.get(s.label).push(await sample(s.run, timeMs));
  process.stderr.write(`run ${run + 1}/${runs}\n`);
}
console.log('| subject | closed path, ns per call (median of runs) | runs |');
console.log('|---|---|---|');
for (const [label, values] of results) console.log(`| ${label} | ${median(values).toFixed(0)} | ${values.map((v) => v.toFixed(0)).join(', ')} |`);
for (const s of subjects) await s.close();
