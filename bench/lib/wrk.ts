/**
 * The out-of-process load generator (issue 11): `wrk` (the Debian package; C, epoll, its own process),
 * so the generator never shares an event loop — or much CPU — with the server it measures, unlike
 * autocannon in the benchmark's own process. POST bodies come from a Lua script (`wrk -s`).
 *
 * Same safety rails as lib/load.ts: loopback targets only, bounded duration.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { assertLoopback } from './load.ts';

const run = promisify(execFile);

export interface WrkOptions {
  readonly url: string;
  readonly connections: number;
  readonly durationMs: number;
  /** wrk threads (event loops). Default 1: on 2 cores the server gets the other. */
  readonly threads?: number;
  /** A POST with these headers and body instead of a GET. */
  readonly post?: { readonly headers: Readonly<Record<string, string>>; readonly body: string };
}

export interface WrkResult {
  /** 2xx/3xx answers per second. */
  readonly reqPerSec: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
}

/** Is `wrk` on PATH? (apt-get install wrk) */
export async function wrkAvailable(): Promise<boolean> {
  try {
    await run('wrk', ['--version']);
    return true;
  } catch (err) {
    // wrk --version exits 1 after printing its version.
    return /wrk \d/.test(String((err as { stdout?: string }).stdout ?? ''));
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latency(text: string, percentile: string): number {
  const m = new RegExp(`^\\s+${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  return m ? Number(m[1]) * (UNIT_MS[m[2] as string] ?? Number.NaN) : Number.NaN;
}

/** Parses wrk's report (`--latency`). Exported for its test. */
export function parseWrk(text: string, durationMs: number): WrkResult {
  const requests = Number(/^\s*(\d+) requests in /m.exec(text)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const socketErrors = sock ? sock.slice(1).reduce((n, v) => n + Number(v), 0) : 0;
  const elapsed = /requests in ([\d.]+)(us|ms|s|m),/.exec(text);
  const seconds = elapsed
    ? (Number(elapsed[1]) * (UNIT_MS[elapsed[2] as string] ?? 1)) / 1000
    : durationMs / 1000;
  return {
    requests,
    non2xx,
    socketErrors,
    reqPerSec: (requests - non2xx) / seconds,
    latencyMs: { p50: latency(text, '50'), p99: latency(text, '99') },
  };
}

const luaString = (s: string) => JSON.stringify(s); // a JSON string is a valid Lua string literal here

export async function runWrk(opts: WrkOptions): Promise<WrkResult> {
  assertLoopback(opts.url);
  if (!(opts.durationMs >= 1000 && opts.durationMs <= 60_000)) {
    throw new Error('wrk: duration must be within 1..60 s');
  }
  const args = [
    `-t${opts.threads ?? 1}`,
    `-c${opts.connections}`,
    `-d${Math.round(opts.durationMs / 1000)}s`,
    '--latency',
    '--timeout',
    '10s',
  ];
  let dir: string | undefined;
  if (opts.post) {
    dir = mkdtempSync(join(tmpdir(), 'jwks-bench-wrk-'));
    const script = join(dir, 'post.lua');
    const headers = Object.entries(opts.post.headers)
      .map(([name, value]) => `wrk.headers[${luaString(name)}] = ${luaString(value)}`)
      .join('\n');
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${luaString(opts.post.body)}\n${headers}\n`, {
      mode: 0o600,
    });
    args.push('-s', script);
  }
  try {
    const { stdout } = await run('wrk', [...args, opts.url], { timeout: opts.durationMs + 30_000 });
    return parseWrk(stdout, opts.durationMs);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
