// One instance of the built sample app (sample-app/dist/main.js, as `npm start` runs it) as a child
// process, its HTTP routes, and its management event stream (`GET /circuit-breakers/events`, SSE).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { outputTail } from './children.js';

export const SAMPLE_MAIN = fileURLToPath(new URL('../../sample-app/dist/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STARTUP_TIMEOUT_MS = 30_000;
const LISTENING = /Sample app listening on http:\/\/[^:\s]+:(\d+)/;

/** Wall-clock epoch ms with sub-millisecond precision (comparable with the other processes' Date.now()). */
export const wallNow = () => performance.timeOrigin + performance.now();

/** Starts one instance on a free port of 127.0.0.1 with `env`; resolves once it listens. */
export async function startInstance(children, name, env) {
  if (!existsSync(SAMPLE_MAIN)) throw new Error(`${SAMPLE_MAIN} is missing: build the sample app first (tsc -p sample-app/tsconfig.json, as npm run bench:fleet does)`);
  const child = spawn(process.execPath, [SAMPLE_MAIN], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.fleetRole = 'app';
  children.track(child);
  const output = outputTail(child);
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance ${name} did not start within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`)), STARTUP_TIMEOUT_MS);
    const onData = () => {
      const match = LISTENING.exec(output());
      if (match === null) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      resolve(Number(match[1]));
    };
    const onExit = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`instance ${name} exited (code ${code}, signal ${signal}) before listening:\n${output()}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
  return new Instance(name, child, `http://127.0.0.1:${port}`, output);
}

export class Instance {
  constructor(name, child, baseUrl, output) {
    this.name = name;
    this.child = child;
    this.baseUrl = baseUrl;
    this.output = output;
  }

  /** `{ status, body, sentAt }`; `sentAt` is wall-clock ms (see `wallNow`). */
  async send(method, path, { body, token } = {}) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const sentAt = wallNow();
    const response = await fetch(this.baseUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : JSON.parse(text), sentAt };
  }

  /** `POST /payments`: one charge through the `payments` breaker. */
  pay() {
    return this.send('POST', '/payments', { body: { amount: 1299, currency: 'EUR' } });
  }

  /** A management write on `breaker` (`reset`, `force-open`); fails unless it answers 200. */
  async manage(breaker, action, token) {
    const reply = await this.send('POST', `/circuit-breakers/${breaker}/${action}`, { token });
    if (reply.status !== 200) throw new Error(`${this.name}: POST /circuit-breakers/${breaker}/${action} answered ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply;
  }

  /**
   * Opens the management event stream; `onEvent({ instance, type, data, receivedAt })` for every
   * event, `receivedAt` being when its chunk arrived here (wall-clock ms). Resolves once the stream
   * is open, to a function that closes it.
   */
  async subscribe(onEvent) {
    const controller = new AbortController();
    const response = await fetch(`${this.baseUrl}/circuit-breakers/events`, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
    if (response.status !== 200) throw new Error(`${this.name}: GET /circuit-breakers/events answered ${response.status}`);
    const parse = sseParser((type, data, receivedAt) => onEvent({ instance: this, type, data, receivedAt }));
    void (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body) parse(decoder.decode(chunk, { stream: true }), wallNow());
      } catch (error) {
        if (error.name !== 'AbortError') throw error;
      }
    })().catch(() => undefined); // the stream ends when the instance stops
    return () => controller.abort();
  }
}

/**
 * A minimal Server-Sent Events parser (the `event:` and `data:` fields of the WHATWG format, which
 * is all Nest's `@Sse()` sends besides `id:`): feed it text as it arrives.
 */
function sseParser(onMessage) {
  let buffer = '';
  let type = 'message';
  let data = [];
  return (text, receivedAt) => {
    buffer += text;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length > 0) onMessage(type, JSON.parse(data.join('\n')), receivedAt);
        type = 'message';
        data = [];
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
  };
}
