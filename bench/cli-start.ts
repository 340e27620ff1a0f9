/**
 * CLI start (issue 11): `node bin/jwks.mjs --help | status | sign` against the local stack, median of
 * `runs` wall-clock runs each, next to a bare `node -e 0` measured in the same run (interleaved), so
 * the figure that counts is the time beyond Node's own start. Targets: ≤ 0.1 s / 0.25 s / 0.25 s
 * beyond `node -e 0`. Uses the compiled CLI (dist/cli, `npm run build:cli`); it says so when it fell
 * back to tsx.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../test/e2e/stack-process.ts';
import { median } from './lib/stats.ts';
import { fmt } from './lib/table.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin/jwks.mjs');

export const CLI_START_TARGETS_MS = { help: 100, status: 250, sign: 250 } as const;
type Name = keyof typeof CLI_START_TARGETS_MS;

export interface CliStartResult {
  readonly runs: number;
  readonly compiled: boolean;
  readonly nodeMs: number;
  /** Median wall-clock ms per command, and beyond `node -e 0`. */
  readonly commands: Record<Name, { readonly medianMs: number; readonly beyondNodeMs: number }>;
}

function timed(args: readonly string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const p = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (p.status !== 0) throw new Error(`${args.join(' ')} exited ${p.status}: ${p.stderr}`);
  return ms;
}

export async function runCliStartBench(opts: {
  log: (line: string) => void;
  runs?: number;
}): Promise<CliStartResult> {
  const runs = opts.runs ?? 5;
  // What `npm ci` leaves (its `prepare` builds dist/cli): a build older than src/ would make bin/jwks.mjs
  // fall back to tsx, and the bench would measure the fallback.
  opts.log('cli-start: building the CLI (npm run build:cli)…');
  const build = spawnSync('npm', ['run', '--silent', 'build:cli'], { cwd: ROOT, stdio: 'ignore' });
  opts.log('cli-start: starting the local stack (npm start)…');
  const stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
  try {
    const env = { ...process.env, JWKS_DATA_DIR: stack.dataDir, NODE_NO_WARNINGS: '1' };
    const argv: Record<Name, string[]> = {
      help: [BIN, '--help'],
      status: [BIN, 'status'],
      sign: [BIN, 'sign', '--claims', '{"sub":"bench"}'],
    };
    // One warm-up each (file system cache), then interleaved rounds so load drift hits all alike.
    timed(['-e', '0'], env);
    for (const a of Object.values(argv)) timed(a, env);
    const samples: Record<Name | 'node', number[]> = { node: [], help: [], status: [], sign: [] };
    for (let i = 0; i < runs; i++) {
      samples.node.push(timed(['-e', '0'], env));
      for (const [name, a] of Object.entries(argv) as [Name, string[]][]) samples[name].push(timed(a, env));
    }
    const nodeMs = median(samples.node);
    const commands = Object.fromEntries(
      (Object.keys(argv) as Name[]).map((n) => [
        n,
        { medianMs: median(samples[n]), beyondNodeMs: median(samples[n]) - nodeMs },
      ]),
    ) as CliStartResult['commands'];
    return {
      runs,
      compiled: build.status === 0 && existsSync(join(ROOT, 'dist/cli/main.js')),
      nodeMs,
      commands,
    };
  } finally {
    await stack.stop();
  }
}

export function formatCliStartTable(r: CliStartResult): string {
  const rows = (Object.keys(r.commands) as Name[]).map(
    (n) =>
      `jwks ${n.padEnd(7)} ${fmt(r.commands[n].medianMs).padStart(8)} ms  ${fmt(r.commands[n].beyondNodeMs).padStart(8)} ms  ≤ ${CLI_START_TARGETS_MS[n]} ms`,
  );
  return [
    `median of ${r.runs}; node -e 0: ${fmt(r.nodeMs)} ms; ${r.compiled ? 'compiled CLI (dist/cli)' : 'NO BUILD: tsx'}`,
    'command       median       beyond node  target',
    ...rows,
  ].join('\n');
}

// `node --import tsx bench/cli-start.ts`: this bench alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runCliStartBench({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${formatCliStartTable(r)}\n`);
}
