// Consumer type-checks of the packed library (run by run.sh). Two temporary projects install the
// tarball with Nest 11 from the npm registry: `peers` with every optional peer, `bare` with the
// required peers only. In each, one folder per tsconfig setting imports every public subpath (in
// `bare`, those that need no optional peer) and uses the main API; `tsc --noEmit` with
// `skipLibCheck: false` checks them with the minimum TypeScript this package supports (the lower
// bound of its `typescript` optional peer, installed from the registry), and `peers` also with the
// TypeScript of this repository.
// Usage: node test/consumers/check.mjs <tarball>
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
/** The minimum supported TypeScript: the lower bound of the `typescript` optional peer. */
const MIN_TYPESCRIPT = /^>=\s*(\d+\.\d+)/.exec(pkg.peerDependencies?.typescript ?? '')?.[1];
if (MIN_TYPESCRIPT === undefined) throw new Error(`package.json peerDependencies.typescript: expected ">=X.Y", received ${JSON.stringify(pkg.peerDependencies?.typescript)}`);

/** The optional peers whose types a subpath's declarations import; a subpath not listed needs none. */
const SUBPATH_PEERS = {
  './health': ['@nestjs/terminus'],
  './config': ['@nestjs/config'],
  './prometheus': ['prom-client'],
  './redis': ['ioredis'],
  './opentelemetry': ['@opentelemetry/api'],
};
const REQUIRED = ['@nestjs/common@^11', '@nestjs/core@^11', 'reflect-metadata@^0.2', 'rxjs@^7', '@types/node@^22'];
const OPTIONAL = ['@nestjs/terminus@^11', '@nestjs/config@^4', 'prom-client@^15', 'ioredis@^5', '@opentelemetry/api@^1', '@jest/globals@^30'];

/** tsconfig settings, each in a folder whose package.json `type` makes its files ESM or CommonJS. */
const SETTINGS = {
  'nodenext-esm': { type: 'module', module: 'nodenext', moduleResolution: 'nodenext' },
  'nodenext-cjs': { type: 'commonjs', module: 'nodenext', moduleResolution: 'nodenext' },
  'node16-esm': { type: 'module', module: 'node16', moduleResolution: 'node16' },
  'node16-cjs': { type: 'commonjs', module: 'node16', moduleResolution: 'node16' },
  bundler: { type: 'module', module: 'esnext', moduleResolution: 'bundler' },
  // the older Nest starters' setting; TypeScript 6 deprecates node10 (and 7 drops it)
  'commonjs-node10': { type: 'commonjs', module: 'commonjs', moduleResolution: 'node10', deprecatedFrom: 6 },
};

const tarball = process.argv[2];
if (!tarball) throw new Error('usage: node test/consumers/check.mjs <tarball>');
const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
const specifier = (subpath) => (subpath === '.' ? 'nestjs-circuit-breaker' : `nestjs-circuit-breaker/${subpath.slice(2)}`);
/**
 * `npm install` in `dir`. With `engines: true`, also fails on an EBADENGINE warning: a Nest 11 app on
 * this Node (CI runs Node 20) that installs the package gets none, from it or from anything it brings.
 */
const npmInstall = (dir, packages, { engines = false } = {}) => {
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=warn', ...packages], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) throw new Error(`npm install in ${dir} failed (${result.error ?? `exit ${result.status}`}):\n${output}`);
  const warnings = output.split('\n').filter((line) => line.includes('EBADENGINE'));
  if (engines && warnings.length > 0) throw new Error(`npm install in ${dir} on Node ${process.version} warned EBADENGINE:\n${warnings.join('\n')}`);
};

const usage = `
import { Injectable, Module } from '@nestjs/common';
import { CircuitBreaker, CircuitBreakerModule, CircuitBreakerOpenError, CircuitBreakerRegistry, isCircuitBreakerOpenError, type CircuitBreakerSnapshot } from 'nestjs-circuit-breaker';
import { FakeClock } from 'nestjs-circuit-breaker/testing';

@Injectable()
export class PaymentsService {
  @CircuitBreaker('payments', { failureThreshold: 2, resetTimeoutMs: 30_000 })
  async charge(amount: number): Promise<string> {
    return \`charged \${amount}\`;
  }
}

@Module({ imports: [CircuitBreakerModule.forRoot({ defaults: { clock: new FakeClock() } })], providers: [PaymentsService] })
export class AppModule {}

export function retryAfterMs(error: unknown): number | undefined {
  return isCircuitBreakerOpenError(error) ? error.retryAfterMs : undefined;
}
export const states = (registry: CircuitBreakerRegistry): CircuitBreakerSnapshot[] => registry.names().map((name) => registry.get(name)!.snapshot());
export const sample: CircuitBreakerOpenError = new CircuitBreakerOpenError('payments', 'open', 1000);
// the types are real, not \`any\`: a misspelt option is an error
// @ts-expect-error
CircuitBreakerModule.forRoot({ defaults: { failureTreshold: 2 } });
`;

function writeProject(dir, subpathsHere) {
  for (const [name, s] of Object.entries(SETTINGS)) {
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ type: s.type }));
    const imports = subpathsHere.map((sp, i) => `import * as entry${i} from '${specifier(sp)}';`).join('\n');
    writeFileSync(join(folder, 'subpaths.ts'), `${imports}\nexport const entries: object[] = [${subpathsHere.map((_, i) => `entry${i}`).join(', ')}];\n`);
    writeFileSync(join(folder, 'usage.ts'), usage);
  }
}

function tsconfig(s, tsMajor) {
  return {
    compilerOptions: {
      module: s.module,
      moduleResolution: s.moduleResolution,
      target: 'ES2022',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      skipLibCheck: false,
      noEmit: true,
      ...(s.deprecatedFrom !== undefined && tsMajor >= s.deprecatedFrom ? { ignoreDeprecations: `${tsMajor}.0` } : {}),
    },
    include: ['*.ts'],
  };
}

const work = mkdtempSync(join(tmpdir(), 'ncb-consumers-'));
let failures = 0;
try {
  const minTs = join(work, 'min-ts');
  const projects = { peers: join(work, 'peers'), bare: join(work, 'bare') };
  mkdirSync(minTs);
  writeFileSync(join(minTs, 'package.json'), '{"private":true}');
  for (const dir of Object.values(projects)) {
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), '{"private":true}');
  }
  console.log(`consumers: npm install typescript@~${MIN_TYPESCRIPT}; Nest 11 with every optional peer; Nest 11 with the required peers only`);
  const installing = Date.now();
  npmInstall(minTs, [`typescript@~${MIN_TYPESCRIPT}.0`]);
  npmInstall(projects.peers, ['--legacy-peer-deps', ...REQUIRED, ...OPTIONAL, tarball], { engines: true });
  npmInstall(projects.bare, ['--legacy-peer-deps', ...REQUIRED, tarball], { engines: true });
  console.log(`consumers: installed in ${Math.round((Date.now() - installing) / 1000)} s, no EBADENGINE warning on Node ${process.version}`);
  writeProject(projects.peers, subpaths);
  writeProject(projects.bare, subpaths.filter((sp) => SUBPATH_PEERS[sp] === undefined));

  const compilers = {
    [`typescript ${JSON.parse(readFileSync(join(minTs, 'node_modules/typescript/package.json'), 'utf8')).version} (minimum)`]: join(minTs, 'node_modules/typescript/bin/tsc'),
    [`typescript ${JSON.parse(readFileSync(join(ROOT, 'node_modules/typescript/package.json'), 'utf8')).version}`]: join(ROOT, 'node_modules/typescript/bin/tsc'),
  };
  const checks = [];
  for (const [label, tsc] of Object.entries(compilers)) {
    const tsMajor = Number(/typescript (\d+)/.exec(label)[1]);
    for (const [project, dir] of Object.entries(projects)) {
      // which declarations need an optional peer does not depend on the compiler: `bare` once
      if (project === 'bare' && !label.endsWith('(minimum)')) continue;
      for (const [name, s] of Object.entries(SETTINGS)) {
        checks.push({ title: `${label}, ${project}, ${name}`, tsc, folder: join(dir, name), config: tsconfig(s, tsMajor), tsMajor });
      }
    }
  }
  // one tsconfig per check, named after the compiler, so two checks of a folder can run at once
  const runCheck = async ({ title, tsc, folder, config, tsMajor }) => {
    const file = `tsconfig.ts${tsMajor}.json`;
    writeFileSync(join(folder, file), JSON.stringify(config, null, 2));
    try {
      await promisify(execFile)(process.execPath, [tsc, '-p', file], { cwd: folder, encoding: 'utf8', timeout: 120_000 });
      console.log(`  ok    ${title}`);
    } catch (error) {
      failures++;
      console.log(`  FAIL  ${title}\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
    }
  };
  const queue = [...checks];
  await Promise.all([0, 1].map(async () => {
    while (queue.length > 0) await runCheck(queue.shift());
  }));
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failures > 0) {
  console.error(`consumers: ${failures} type-check(s) failed`);
  process.exit(1);
}
console.log('consumers: every setting type-checks');
