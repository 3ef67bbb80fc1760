import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A throw-away `redis-server` on a free loopback port: no persistence, stopped by `stop()`. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  restart(): Promise<void>;
  /** Stops it for good. */
  stop(): Promise<void>;
}

const READY = 'Ready to accept connections';
const START_TIMEOUT_MS = 10_000;

/** Starts `redis-server` from PATH on a free port of 127.0.0.1. */
export async function startRedisServer(): Promise<RedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      let child = await launchRedisServer(port);
      const stopChild = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      };
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        kill: stopChild,
        restart: async () => {
          await stopChild();
          child = await launchRedisServer(port);
        },
        stop: stopChild,
      };
    } catch (error) {
      // Another process may have taken the port between the probe and the launch.
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

/** The port (or, for a cluster node, its bus port) was taken between the probe and the launch. */
export class PortTakenError extends Error {}

/**
 * Starts `redis-server` on `port` of 127.0.0.1 (nothing persisted) with `extraArgs`, and resolves when
 * it accepts connections. A missing binary fails naming the Debian package; a taken port is a
 * {@link PortTakenError}. `what` names the server in errors (e.g. `redis-server (cluster node)`).
 */
export function launchRedisServer(port: number, extraArgs: readonly string[] = [], what = 'redis-server'): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start within ${START_TIMEOUT_MS} ms on port ${port}:\n${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(READY)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining: a full pipe would block the server
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT'
        ? new Error('redis-server is not on PATH; these tests need a real Redis: apt-get install redis-server')
        : error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (output.includes(READY)) return;
      reject(/Address already in use/.test(output)
        ? new PortTakenError(`port ${port} is taken`)
        : new Error(`${what} exited (code ${code}, signal ${signal}) before it was ready:\n${output}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
