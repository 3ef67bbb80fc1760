// A throw-away `redis-server` on a free loopback port, no persistence (as test/support/redis-server.ts
// starts one for the tests).

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { outputTail } from './children.js';

const READY = 'Ready to accept connections';
const START_TIMEOUT_MS = 10_000;
const NOT_INSTALLED = 'redis-server is not installed (not on PATH): the fleet bench needs a real Redis. '
  + 'On Debian/Ubuntu, install the package `redis-server` (sudo apt-get install redis-server).';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts `redis-server` from PATH; resolves `{ port, url, version, child }` once it accepts connections. */
export async function startRedisServer(children) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(children, port);
    } catch (error) {
      // Another process may have taken the port between the probe and the launch.
      if (attempt >= 3 || !error.portTaken) throw error;
    }
  }
}

function launch(children, port) {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.fleetRole = 'redis';
  children.track(child);
  const output = outputTail(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not start within ${START_TIMEOUT_MS} ms on port ${port}:\n${output()}`));
    }, START_TIMEOUT_MS);
    const onData = () => {
      if (!output().includes(READY)) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.removeAllListeners('error');
      const version = /v=(\d+\.\d+\.\d+)/.exec(output())?.[1] ?? /Redis version=(\d+\.\d+\.\d+)/.exec(output())?.[1] ?? 'unknown';
      resolve({ port, url: `redis://127.0.0.1:${port}`, version, child, output });
    };
    child.stdout.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? Object.assign(new Error(NOT_INSTALLED), { code: 'REDIS_NOT_INSTALLED' }) : error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (output().includes(READY)) return;
      const error = new Error(`redis-server exited (code ${code}, signal ${signal}) before it was ready:\n${output()}`);
      error.portTaken = /Address already in use/.test(output());
      reject(error);
    });
  });
}
