/**
 * Runs the local stack exactly as a user does — `npm start` in a child process with its own port and
 * data dir — and the `jwks` CLI as a separate process, for the end-to-end suites.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { lockHolder } from '../../src/local/data-dir-lock.ts';
import { freeLoopbackPort } from '../../src/local/dynamodb-local.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/jwks.mjs');

export interface StackProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** stdout lines so far, npm's own `> script` banner left out (the contract: exactly one, `ready <url>`). */
  readonly stdout: string[];
  stderr(): string;
  /**
   * Signal the process group (as a terminal does), wait for npm to exit and for the stack to release
   * its data dir lock (its last shutdown step). Resolves to npm's exit code.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /**
   * A crash: SIGKILL the whole process group (npm, the stack, its JVM and s3rver) and resolve once npm
   * has exited — the moment a supervisor notices. Nothing is cleaned up: the lock, stack.json and
   * the stack process itself (a zombie until something reaps it) stay as a crash leaves them.
   */
  crash(): Promise<void>;
}

/** The data dir's lock sockets (`stack.lock.<n>`): none once a stack has stopped cleanly. */
export function lockFiles(dataDir: string): string[] {
  return readdirSync(dataDir).filter((name) => name.startsWith('stack.lock'));
}

export interface StartOptions {
  readonly env?: Record<string, string>;
  readonly dataDir?: string;
  readonly port?: number;
  readonly readyTimeoutMs?: number;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'jwks-e2e-'));
}

/** `npm start` and wait for its `ready` line; rejects with its stderr when it exits first. */
export async function startStack(opts: StartOptions = {}): Promise<StackProcess> {
  const port = opts.port ?? (await freeLoopbackPort());
  const dataDir = opts.dataDir ?? tempDataDir();
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...opts.env, PORT: String(port), JWKS_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so stop() reaches npm's child too
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  const stdout: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ready line after ${opts.readyTimeoutMs ?? 90_000} ms:\n${stderr}`)),
      opts.readyTimeoutMs ?? 90_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.trim() === '' || line.startsWith('> ')) return; // npm's banner, not ours
      stdout.push(line);
      const m = /^ready (\S+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(
        Object.assign(new Error(`npm start exited with ${code}:\n${stderr}`), { exitCode: code, stderr }),
      );
    });
  });
  return {
    url,
    port,
    dataDir,
    child,
    stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 20_000);
      const code = await exited;
      clearTimeout(timer);
      const deadline = Date.now() + 20_000;
      while ((await lockHolder(dataDir)) !== undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      return code;
    },
    async crash() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    },
  };
}

/** `npm start` that is expected to fail: its exit code and stderr. */
export function startExpectingFailure(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolveRun) => {
    execFile(
      'npm',
      ['start'],
      { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, timeout: 90_000 },
      (err, stdout, stderr) =>
        resolveRun({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `jwks <args…> --data-dir <dir>` as a separate process (`env`: more variables, e.g. AWS_REGION). */
export function cli(
  dataDir: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--data-dir', dataDir],
      { cwd: ROOT, timeout: 60_000, env: { ...process.env, NODE_NO_WARNINGS: '1', ...env } },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolveRun({ code, stdout, stderr });
      },
    );
  });
}
