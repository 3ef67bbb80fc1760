// Builds the two copies of the library that package.json `exports` points at:
//   dist/      ES modules with their .d.ts and source maps (tsconfig.build.json): `import`, and
//              `require()` on Node versions that can load ES modules synchronously (`module-sync`)
//   dist/cjs/  CommonJS with its own .d.ts (tsconfig.build.cjs.json): `require` for tools that
//              cannot, such as Jest in CommonJS mode (ts-jest), and `main`/`typesVersions` for
//              TypeScript's `node10` resolution
// dist/cjs/package.json says `"type": "commonjs"`, so Node and TypeScript read that folder as CommonJS
// although the package itself is `"type": "module"`. Under `module: CommonJS` tsc rejects what a
// CommonJS module cannot have (`import.meta`, top-level await), so lib/ stays free of them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

for (const project of ['tsconfig.build.json', 'tsconfig.build.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
}

const cjs = join(root, 'dist', 'cjs');
mkdirSync(cjs, { recursive: true });
writeFileSync(join(cjs, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);

