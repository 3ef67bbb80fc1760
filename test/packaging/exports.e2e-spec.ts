// The root entry's public API, pinned: a name added to or dropped from `nestjs-circuit-breaker` is a
// decision, made here. Both builds (ESM in dist/, CommonJS in dist/cjs/) export the same names.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const ROOT_EXPORTS = [
  'AllTiersFailedError', 'Breaker', 'CallTimeoutError', 'CircuitBreaker', 'CircuitBreakerConfigError', 'CircuitBreakerError',
  'CircuitBreakerExceptionFilter', 'CircuitBreakerInterceptor', 'CircuitBreakerLimitError', 'CircuitBreakerModule', 'CircuitBreakerNameError',
  'CircuitBreakerOpenError',
  'CircuitBreakerRegistry', 'CircuitState', 'DASHBOARD_CONTENT_SECURITY_POLICY', 'FallbackChain', 'InjectCircuitBreaker', 'Retry',
  'RetryExhaustedError', 'RetryPolicy', 'circuitBreakerConfigFromEnv', 'circuitBreakerEventStream', 'executeWithFallback',
  'getCircuitBreakerToken', 'isCircuitBreakerOpenError', 'isDependencyFailure', 'isDependencyFailureResponse', 'renderDashboard', 'retry',
];

describe('the root entry point', () => {
  it('exports exactly the public API from the ESM build', async () => {
    const esm = (await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)) as Record<string, unknown>;
    expect(Object.keys(esm).sort()).toEqual([...ROOT_EXPORTS].sort());
  });

  it('exports exactly the same names from the CommonJS build', () => {
    // In a plain Node process: its require() loads Nest 12's ES modules, Jest's does not.
    const script = `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(join(ROOT, 'dist', 'cjs', 'index.js'))}))))`;
    const names = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as string[];
    expect(names.filter((k) => k !== '__esModule').sort()).toEqual([...ROOT_EXPORTS].sort());
  });

  it('publishes the store plumbing as nestjs-circuit-breaker/store, not from the root', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(pkg.exports)).toContain('./store');
    expect(ROOT_EXPORTS.filter((n) => /store|codec|encode|decode|backend/i.test(n))).toEqual([]);
  });
});
