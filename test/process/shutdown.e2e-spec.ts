import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { get, type IncomingMessage, request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';

// A child process runs a real Nest application on the built library (dist/, as `npm test` builds it)
// with breakers in every situation that holds a resource: open with an active probe (one probe
// hanging for good), forced open, a decorated call in flight with a call timeout, a call that never
// settles, and a client connected to the management event stream. The parent asks it to shut down
// and checks that it is gone within 500 ms and that the event stream was ended by the server.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist', 'index.js');
const TOKEN = 'shutdown-token';
const EXIT_WITHIN_MS = 500;

/** The child: plain ESM JavaScript (decorators applied with Reflect.decorate), on dist/. */
const APP = `
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CircuitBreaker, CircuitBreakerModule, CircuitBreakerRegistry } from ${JSON.stringify(DIST)};

class Payments {
  async charge() { throw new Error('provider down'); }
  async slowQuote() { return new Promise((resolve) => setTimeout(resolve, 60_000).unref()); }
  async neverSettles() { return new Promise(() => {}); }
}
for (const [key, decorator] of [
  ['charge', CircuitBreaker('payments', { failureThreshold: 1, resetTimeoutMs: 60_000, probe: { intervalMs: 20, fn: () => new Promise(() => {}) } })],
  ['slowQuote', CircuitBreaker('quotes', { callTimeoutMs: 30_000 })],
  ['neverSettles', CircuitBreaker('ledger')],
]) {
  Object.defineProperty(Payments.prototype, key, Reflect.decorate([decorator], Payments.prototype, key, Object.getOwnPropertyDescriptor(Payments.prototype, key)));
}
Reflect.decorate([Injectable()], Payments);

class AppModule {}
Reflect.decorate([Module({
  imports: [CircuitBreakerModule.forRoot({
    management: { enabled: true, token: ${JSON.stringify(TOKEN)} },
    breakers: { search: { failureThreshold: 1, resetTimeoutMs: 60_000, probe: { intervalMs: 10, fn: async () => { throw new Error('still down'); } } } },
  })],
  providers: [Payments],
})], AppModule);

const adapter = process.env.SHUTDOWN_ADAPTER === 'fastify' ? new (await import('@nestjs/platform-fastify')).FastifyAdapter() : undefined;
const app = adapter ? await NestFactory.create(AppModule, adapter, { logger: ['fatal'] }) : await NestFactory.create(AppModule, { logger: ['fatal'] });
if (process.env.SHUTDOWN_VIA === 'signal') app.enableShutdownHooks(['SIGTERM']);
await app.init(); // the decorated methods are wrapped at bootstrap
const registry = app.get(CircuitBreakerRegistry);
const payments = app.get(Payments);
await payments.charge().catch(() => {});                       // payments: open, its probe hangs
await registry.getOrCreate('search').execute(async () => { throw new Error('down'); }).catch(() => {}); // open, probing
registry.getOrCreate('admin').forceOpen();                     // forced open
void payments.slowQuote();                                     // in flight, with a 30 s call timeout
void payments.neverSettles();                                  // in flight for good
await app.listen(0, '127.0.0.1');
const states = registry.names().map((name) => name + '=' + registry.get(name).state).join(',');
process.stdout.write('READY ' + app.getHttpServer().address().port + ' ' + states + '\\n');

process.once('SIGUSR2', async () => {
  const start = performance.now();
  await app.close();
  const closed = performance.now() - start;
  process.on('exit', () => process.stdout.write('CLOSED ' + closed.toFixed(1) + ' EXITED ' + (performance.now() - start).toFixed(1) + '\\n'));
});
`;

interface Child {
  process: ChildProcess;
  port: number;
  states: string;
  output: () => { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

async function startChild(env: Record<string, string> = {}): Promise<Child> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, ['--input-type=module', '-e', APP], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start within 15 s:\n${stdout}${stderr}`)), 15_000);
    child.stdout!.on('data', () => {
      const match = /^READY (\d+) (\S+)$/m.exec(stdout);
      if (match === null) return;
      clearTimeout(timer);
      resolve(match);
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the app exited before it was ready:\n${stdout}${stderr}`));
    });
  });
  return { process: child, port: Number(ready[1]), states: ready[2]!, output: () => ({ stdout, stderr }), exited };
}

interface EventStreamClient {
  /** everything received so far */
  received: () => string;
  /** resolves when the server ends the response ('end'), rejects when the connection breaks instead */
  ended: Promise<number>;
}

/** Connects to the event stream and resolves once the first bytes arrived. */
function connectEventStream(port: number): Promise<EventStreamClient> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/circuit-breakers/events' }, (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /circuit-breakers/events answered ${res.statusCode}`));
        return;
      }
      let received = '';
      const ended = new Promise<number>((resolveEnd, rejectEnd) => {
        res.on('end', () => resolveEnd(performance.now()));
        res.on('aborted', () => rejectEnd(new Error('the event stream was aborted, not ended')));
        res.on('error', rejectEnd);
      });
      ended.catch(() => undefined); // observed by the test
      res.setEncoding('utf8');
      res.once('data', () => resolve({ received: () => received, ended }));
      res.on('data', (chunk: string) => (received += chunk));
    });
    req.on('error', reject);
  });
}

function post(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves when `text()` contains `needle`, polling each 10 ms, for at most `ms`. */
async function waitFor(text: () => string, needle: string, ms = 5_000): Promise<void> {
  const until = performance.now() + ms;
  while (!text().includes(needle)) {
    if (performance.now() > until) throw new Error(`"${needle}" did not arrive; got: ${text()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The exit, or undefined when the child is still alive after `ms`. */
async function exitWithin(child: Child, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  const exit = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  return exit;
}

describe('shutdown of an application with breakers', () => {
  let child: Child | undefined;
  afterEach(() => {
    if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    child = undefined;
  });

  it.each(['express', 'fastify'])('app.close() ends the event stream, and nothing keeps the process alive: it exits within 500 ms of close() (%s)', async (adapter) => {
    child = await startChild({ SHUTDOWN_ADAPTER: adapter });
    expect(child.states).toBe('admin=forced_open,ledger=closed,payments=open,quotes=closed,search=open');
    const stream = await connectEventStream(child.port);
    // The stream is live: a write through the API reaches the connected client.
    expect(await post(child.port, '/circuit-breakers/ledger/force-open')).toBe(200);
    await waitFor(stream.received, '"name":"ledger","from":"closed","to":"forced_open"');

    child.process.kill('SIGUSR2'); // the child calls app.close()
    const exit = await exitWithin(child, 5_000);
    const { stdout, stderr } = child.output();
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(stderr).toBe('');
    const timings = /CLOSED ([\d.]+) EXITED ([\d.]+)/.exec(stdout);
    expect(timings).not.toBeNull();
    // measured inside the child, from the call of close() to the process's 'exit' event
    expect(Number(timings![2])).toBeLessThan(EXIT_WITHIN_MS);
    // the server ended the response (a clean end of stream, not a broken connection)
    await expect(stream.ended).resolves.toBeLessThanOrEqual(exit!.at);
  });

  it('with enableShutdownHooks, SIGTERM does the same: the process is gone within 500 ms of the signal', async () => {
    child = await startChild({ SHUTDOWN_VIA: 'signal' });
    const stream = await connectEventStream(child.port);
    const signalled = performance.now();
    child.process.kill('SIGTERM');
    const exit = await exitWithin(child, 5_000);
    expect(exit).toBeDefined();
    // Nest closes the app, then re-raises the signal: the process ends by SIGTERM, as without hooks.
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(child.output().stderr).toBe('');
    expect(exit!.at - signalled).toBeLessThan(EXIT_WITHIN_MS);
    await expect(stream.ended).resolves.toBeLessThanOrEqual(exit!.at);
  });
});
