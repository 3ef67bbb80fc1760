import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
// `testing/store-contract` calls Jest's `describe` when imported: it loads only inside a Jest run.
const ENTRY_POINTS = Object.keys(PACKAGE.exports).filter((key) => key !== './package.json' && key !== './testing/store-contract');

/** Imports (ESM) and requires (CommonJS) every entry point in a fresh Node process run in `cwd`. */
async function loadEveryEntryPoint(cwd: string): Promise<Record<string, { import: string; require: string }>> {
  const specifiers = ENTRY_POINTS.map((key) => PACKAGE.name + key.slice(1));
  const script = `import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/index.js');
const out = {};
const short = (e) => String(e && e.message || e).split('\\n')[0];
for (const s of ${JSON.stringify(specifiers)}) {
  out[s] = {};
  try { await import(s); out[s].import = 'ok'; } catch (e) { out[s].import = short(e); }
  try { require(s); out[s].require = 'ok'; } catch (e) { out[s].require = short(e); }
}
console.log(JSON.stringify(out));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd });
  return JSON.parse(stdout) as Record<string, { import: string; require: string }>;
}

/** Every file under `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('the package without its optional peer @opentelemetry/api', () => {
  let project: string;

  /** An application whose node_modules holds the built package and every dependency (but @opentelemetry/* unless `withOtel`). */
  function makeProject(withOtel: boolean): string {
    const dir = mkdtempSync(join(tmpdir(), withOtel ? 'cb-with-otel-' : 'cb-without-otel-'));
    const modules = join(dir, 'node_modules');
    const own = join(modules, PACKAGE.name);
    mkdirSync(own, { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(own, 'package.json'));
    cpSync(join(ROOT, 'dist'), join(own, 'dist'), { recursive: true });
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if ((entry === '@opentelemetry' && !withOtel) || entry === PACKAGE.name || entry.startsWith('.')) continue;
      symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
    }
    return dir;
  }

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'opentelemetry', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first (`npm test` does)');
    project = makeProject(false);
  });

  afterAll(() => {
    if (project !== undefined) rmSync(project, { recursive: true, force: true });
  });

  it('loads every other entry point, and /opentelemetry fails naming the package', async () => {
    const results = await loadEveryEntryPoint(project);
    const otel = `${PACKAGE.name}/opentelemetry`;
    expect(Object.keys(results)).toContain(otel);
    for (const [specifier, result] of Object.entries(results)) {
      if (specifier === otel) {
        expect(result.import).toMatch(/Cannot find package '@opentelemetry\/api'/);
        // `require` loads the ES build where Node can (`module-sync`), the CommonJS one elsewhere.
        expect(result.require).toMatch(/Cannot find (module|package) '@opentelemetry\/api'/);
      } else {
        expect({ specifier, ...result }).toEqual({ specifier, import: 'ok', require: 'ok' });
      }
    }
  });

  it('with @opentelemetry/api installed, /opentelemetry loads (the check can fail)', async () => {
    const app = makeProject(true);
    try {
      const results = await loadEveryEntryPoint(app);
      expect(results[`${PACKAGE.name}/opentelemetry`]).toEqual({ import: 'ok', require: 'ok' });
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });

  it('no built file outside dist/opentelemetry and dist/cjs/opentelemetry mentions @opentelemetry/api', () => {
    const offenders = filesUnder(join(ROOT, 'dist'))
      .filter((f) => /\.(c|m)?js$/.test(f) && !/[/\\]opentelemetry[/\\]/.test(f))
      .filter((f) => readFileSync(f, 'utf8').includes('@opentelemetry/api'))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});
