import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const STARTUP_TIMEOUT_MS = 30_000;

/** A sample app running as a child process, as `npm start` runs it. */
export interface SampleAppProcess {
  /** `http://127.0.0.1:<port>` */
  readonly baseUrl: string;
  /** everything it printed so far */
  output(): string;
  /** SIGTERM, then waits for the exit */
  stop(): Promise<void>;
}

/**
 * Compiles the sample app (against the built library: `npm run build` first, as `npm test` does) into
 * its own folder under `test/artifacts/`, so that specs running in parallel do not write over each
 * other's `sample-app/dist`. Returns the path of its `main.js`.
 */
export async function buildSampleApp(name: string): Promise<string> {
  const outDir = join(ROOT, 'test', 'artifacts', name);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'sample-app', 'tsconfig.json'), '--outDir', outDir], { cwd: ROOT });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`the sample app did not compile:\n${stdout ?? ''}${stderr ?? ''}`);
  }
  return join(outDir, 'main.js');
}

/** Starts `main` on a free port of 127.0.0.1 with `env` and waits until it listens. */
export async function startSampleApp(main: string, env: Record<string, string> = {}): Promise<SampleAppProcess> {
  const child: ChildProcess = spawn(process.execPath, [main], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const port = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the sample app did not start in ${STARTUP_TIMEOUT_MS} ms:\n${output}`)), STARTUP_TIMEOUT_MS);
      child.stdout!.on('data', () => {
        const match = /Sample app listening on http:\/\/[^:\s]+:(\d+)/.exec(output);
        if (match === null) return;
        clearTimeout(timer);
        resolve(match[1]!);
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the sample app exited with ${code}:\n${output}`));
      });
    });
    return { baseUrl: `http://127.0.0.1:${port}`, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
