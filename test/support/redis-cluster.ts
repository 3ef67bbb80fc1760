import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { launchRedisServer, PortTakenError } from './redis-server.js';

/**
 * A throw-away Redis Cluster of `redis-server` processes (masters only, no replicas) on loopback,
 * formed with plain commands (CLUSTER ADDSLOTS, CLUSTER MEET), so that only `redis-server` is needed
 * (not `redis-cli`). Nothing is persisted; the nodes' cluster files live in a temp dir removed by `stop()`.
 */
export interface RedisCluster {
  /** the client port of each node */
  readonly ports: readonly number[];
  /** Stops every node (SIGKILL) and removes the temp dir. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const SLOTS = 16_384;
/** Redis listens on `port + 10000` for the cluster bus, so both must be free and below 65536. */
const BUS_OFFSET = 10_000;
/** A new master waits 2 s before it says `cluster_state:ok`; the rest is gossip on loopback. */
const FORM_TIMEOUT_MS = 15_000;

/** Starts `size` nodes, splits the 16384 slots between them and waits until every node says `cluster_state:ok`. */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-'));
  const nodes: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map(kill));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    while (ports.length < size) {
      const port = await freeNodePort(ports);
      try {
        nodes.push(await launch(dir, port));
        ports.push(port);
      } catch (error) {
        // Another process may have taken the port (or its bus port) between the probe and the launch.
        if (!(error instanceof PortTakenError)) throw error;
      }
    }
    await form(ports);
    return { ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function form(ports: number[]): Promise<void> {
  const admins = ports.map((port) => new Redis({ port, host: HOST, lazyConnect: true, retryStrategy: () => null }));
  try {
    await Promise.all(admins.map((admin) => admin.connect()));
    // Each node takes one contiguous range. ADDSLOTS (not ADDSLOTSRANGE) also works on Redis 6.
    await Promise.all(admins.map((admin, i) => {
      const first = Math.floor((i * SLOTS) / ports.length);
      const last = Math.floor(((i + 1) * SLOTS) / ports.length) - 1;
      return admin.call('CLUSTER', 'ADDSLOTS', ...Array.from({ length: last - first + 1 }, (_, k) => first + k));
    }));
    // Every node meets every other: a node learns its own address from a MEET it receives.
    await Promise.all(admins.flatMap((admin, i) => ports.filter((_, j) => j !== i).map((port) => admin.call('CLUSTER', 'MEET', HOST, port))));
    const deadline = performance.now() + FORM_TIMEOUT_MS;
    for (;;) {
      const infos = await Promise.all(admins.map((admin) => admin.call('CLUSTER', 'INFO') as Promise<string>));
      const formed = infos.every((info) => info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${ports.length}`));
      if (formed) return;
      if (performance.now() >= deadline) {
        throw new Error(`the Redis Cluster on ports ${ports.join(', ')} did not reach cluster_state:ok within ${FORM_TIMEOUT_MS} ms:\n${infos.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    admins.forEach((admin) => admin.disconnect());
  }
}

function launch(dir: string, port: number): Promise<ChildProcess> {
  const args = ['--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`)];
  return launchRedisServer(port, args, 'redis-server (cluster node)');
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** A port in 20000–44999 free on loopback, with its bus port free too, and not one of `taken`. */
async function freeNodePort(taken: number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.includes(port) || taken.includes(port + BUS_OFFSET) || taken.includes(port - BUS_OFFSET)) continue;
    if ((await canListen(port)) && (await canListen(port + BUS_OFFSET))) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}
