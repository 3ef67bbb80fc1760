import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

// `npm pack`, then install the tarball into a fresh project, offline: the package has no dependencies,
// only peers, which are linked from this repository's node_modules (as a user's project would have
// them installed). Then import it as a user would, from ESM and from CommonJS (`require()` of ESM,
// Node 20.19+). Uses dist/, which `npm test` builds before jest runs.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REQUIRED_PEERS = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'];

describe('the packed package, installed in a project of its own', () => {
  let workDir: string;
  let project: string;
  let packedFiles: string[];

  const node = (file: string, source: string): string => {
    writeFileSync(join(project, file), source);
    return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const linkPeer = (name: string) => {
    mkdirSync(dirname(join(project, 'node_modules', name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(project, 'node_modules', name), 'dir');
  };

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'nestjs-circuit-breaker-pack-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', workDir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    ) as { filename: string; files: { path: string }[] }[];
    packedFiles = packed[0]!.files.map((f) => f.path);
    project = join(workDir, 'consumer');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    // --legacy-peer-deps: peers are not fetched (they come from this repository, linked below)
    execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps', '--ignore-scripts', join(workDir, packed[0]!.filename)], {
      cwd: project,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const peer of REQUIRED_PEERS) linkPeer(peer);
  }, 120_000);

  afterAll(() => {
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  });

  it('ships the built entry points with their types, and no sources, tests or sample app', () => {
    for (const file of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/health/index.js', 'dist/health/index.d.ts']) {
      expect(packedFiles).toContain(file);
    }
    expect(packedFiles.filter((f) => /^(lib|test|sample-app|bench)\//.test(f) || /\.spec\./.test(f))).toEqual([]);
  });

  it('imports the main entry as ESM and through require() without @nestjs/terminus installed', () => {
    expect(node('main.mjs', `
      const m = await import('nestjs-circuit-breaker');
      console.log([typeof m.CircuitBreakerModule, typeof m.CircuitBreakerRegistry, typeof m.Breaker].join());
    `).trim()).toBe('function,function,function');
    expect(node('main.cjs', `
      const m = require('nestjs-circuit-breaker');
      console.log([typeof m.CircuitBreakerModule, typeof m.CircuitBreakerRegistry, typeof m.Breaker].join());
    `).trim()).toBe('function,function,function');
    // the health entry is the one that needs the optional peer
    expect(() => node('health-missing.mjs', `await import('nestjs-circuit-breaker/health');`)).toThrow(/Cannot find package '@nestjs\/terminus'/);
  });

  it('imports nestjs-circuit-breaker/health as ESM and through require() once @nestjs/terminus is installed, sharing one registry class', () => {
    linkPeer('@nestjs/terminus');
    expect(node('health.mjs', `
      const { CircuitBreakerHealthIndicator } = await import('nestjs-circuit-breaker/health');
      console.log(typeof CircuitBreakerHealthIndicator);
    `).trim()).toBe('function');
    expect(node('health.cjs', `
      const { CircuitBreakerHealthIndicator } = require('nestjs-circuit-breaker/health');
      const main = require('nestjs-circuit-breaker');
      import('nestjs-circuit-breaker').then((esm) => console.log(typeof CircuitBreakerHealthIndicator, esm.CircuitBreakerRegistry === main.CircuitBreakerRegistry));
    `).trim()).toBe('function true');
  });

  it('works in an application: the health indicator of the installed package reads its registry', () => {
    const output = node('app.mjs', `
      import { Module } from '@nestjs/common';
      import { NestFactory } from '@nestjs/core';
      import { TerminusModule } from '@nestjs/terminus';
      import { CircuitBreakerModule, CircuitBreakerRegistry } from 'nestjs-circuit-breaker';
      import { CircuitBreakerHealthIndicator } from 'nestjs-circuit-breaker/health';
      class AppModule {}
      Module({ imports: [CircuitBreakerModule.forRoot({}), TerminusModule], providers: [CircuitBreakerHealthIndicator] })(AppModule);
      const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
      app.get(CircuitBreakerRegistry).getOrCreate('payments').forceOpen();
      console.log(JSON.stringify(await app.get(CircuitBreakerHealthIndicator).isHealthy()));
      await app.close();
    `);
    expect(JSON.parse(output)).toMatchObject({ circuit_breakers: { status: 'down', breakers: { payments: { state: 'forced_open' } } } });
  });
});
