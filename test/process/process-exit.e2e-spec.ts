import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

describe('a process using breakers', () => {
  it('exits as soon as its work ends: 10,000 breakers, half tripped, no timer left behind', () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first (npm test does)`);
    const script = `
      import { Breaker } from ${JSON.stringify(dist)};
      const breakers = Array.from({ length: 10_000 }, (_, i) => new Breaker('b' + i, { failureThreshold: 1 }));
      for (let i = 0; i < breakers.length; i += 2) await breakers[i].execute(async () => { throw new Error('x'); }).catch(() => {});
      let open = 0;
      for (const b of breakers) if (b.state === 'open') open++;
      console.log('open=' + open + ' timers=' + process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length);
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const elapsed = Date.now() - started;
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('open=5000 timers=0');
    // Node's own start-up takes well under this; a timer per breaker would keep it alive for 60 s.
    expect(elapsed).toBeLessThan(10_000);
  });
});
