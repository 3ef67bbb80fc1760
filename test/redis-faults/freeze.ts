import { execFileSync } from 'node:child_process';
import type { RedisServer } from '../support/redis-server.js';

/** Freezes and thaws a redis-server started by `startRedisServer()` (SIGSTOP / SIGCONT), as a stalled host would. */
export interface Freezer {
  freeze(): void;
  thaw(): void;
}

export function freezer(server: RedisServer): Freezer {
  const pid = pidOf(server.port);
  let frozen = false;
  return {
    freeze: () => {
      process.kill(pid, 'SIGSTOP');
      frozen = true;
    },
    thaw: () => {
      if (frozen) process.kill(pid, 'SIGCONT');
      frozen = false;
    },
  };
}

/** The pid of the redis-server listening on `port` (its process title is `redis-server 127.0.0.1:<port>`). */
function pidOf(port: number): number {
  const lines = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n');
  const line = lines.find((l) => l.includes('redis-server') && l.trimEnd().endsWith(`:${port}`));
  if (line === undefined) throw new Error(`no redis-server process listening on port ${port}`);
  return Number(line.trim().split(/\s+/)[0]);
}
