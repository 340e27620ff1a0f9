/**
 * CLI start (issue 11): `node bin/jwks.mjs --help | status | sign` against the local stack, median of
 * `runs` wall-clock runs each, next to a bare `node -e 0` measured in the same run (interleaved), so
 * the figure that counts is the time beyond Node's own start. Targets: ≤ 0.1 s / 0.25 s / 0.25 s
 * beyond `node -e 0`. Uses the compiled CLI (dist/cli, `npm run build:cli`); it says so when it fell
 * back to tsx. Beside the wall clock, the CPU time (user + system, all threads) of each command as its
 * mean over the runs, from this process's children times in /proc/self/stat: on a machine shared
 * with other work the wall clock also counts waiting for a core, the CPU time does not.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '../test/e2e/stack-process.ts';
import { CLK_TCK } from './lib/procfs.ts';
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
  /** Mean CPU ms of `node -e 0`. */
  readonly nodeCpuMs: number;
  /** Median wall-clock ms per command, and beyond `node -e 0`; mean CPU ms, and beyond `node -e 0`. */
  readonly commands: Record<
    Name,
    {
      readonly medianMs: number;
      readonly beyondNodeMs: number;
      readonly cpuMs: number;
      readonly beyondNodeCpuMs: number;
    }
  >;
}

/** CPU ms (user + system) of this process's waited-for children so far: cutime + cstime. */
function childrenCpuMs(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Fields 16 (cutime) and 17 (cstime), numbered from 1; `fields` starts at field 3.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK;
}

function timed(args: readonly string[], env: NodeJS.ProcessEnv): { ms: number; cpuMs: number } {
  const cpu = childrenCpuMs();
  const start = process.hrtime.bigint();
  const p = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (p.status !== 0) throw new Error(`${args.join(' ')} exited ${p.status}: ${p.stderr}`);
  return { ms, cpuMs: childrenCpuMs() - cpu };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function runCliStartBench(opts: {
  log: (line: string) => void;
  runs?: number;
}): Promise<CliStartResult> {
  const runs = opts.runs ?? 10;
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
    const samples: Record<Name | 'node', { ms: number; cpuMs: number }[]> = {
      node: [],
      help: [],
      status: [],
      sign: [],
    };
    for (let i = 0; i < runs; i++) {
      samples.node.push(timed(['-e', '0'], env));
      for (const [name, a] of Object.entries(argv) as [Name, string[]][]) samples[name].push(timed(a, env));
    }
    const wall = (n: Name | 'node') => median(samples[n].map((s) => s.ms));
    const cpu = (n: Name | 'node') => mean(samples[n].map((s) => s.cpuMs));
    const nodeMs = wall('node');
    const nodeCpuMs = cpu('node');
    const commands = Object.fromEntries(
      (Object.keys(argv) as Name[]).map((n) => [
        n,
        {
          medianMs: wall(n),
          beyondNodeMs: wall(n) - nodeMs,
          cpuMs: cpu(n),
          beyondNodeCpuMs: cpu(n) - nodeCpuMs,
        },
      ]),
    ) as CliStartResult['commands'];
    return {
      runs,
      compiled: build.status === 0 && existsSync(join(ROOT, 'dist/cli/main.js')),
      nodeMs,
      nodeCpuMs,
      commands,
    };
  } finally {
    await stack.stop();
  }
}

export function formatCliStartTable(r: CliStartResult): string {
  const rows = (Object.keys(r.commands) as Name[]).map((n) => {
    const c = r.commands[n];
    return (
      `jwks ${n.padEnd(7)} ${fmt(c.medianMs).padStart(8)} ms  ${fmt(c.beyondNodeMs).padStart(8)} ms  ` +
      `≤ ${String(CLI_START_TARGETS_MS[n]).padEnd(4)} ms  ${fmt(c.cpuMs).padStart(6)} ms  ${fmt(c.beyondNodeCpuMs).padStart(8)} ms`
    );
  });
  return [
    `median of ${r.runs} (wall), mean of ${r.runs} (CPU); node -e 0: ${fmt(r.nodeMs)} ms wall, ` +
      `${fmt(r.nodeCpuMs)} ms CPU; ${process.version}; ${r.compiled ? 'compiled CLI (dist/cli)' : 'NO BUILD: tsx'}`,
    'command       median       beyond node  target   CPU        CPU beyond node',
    ...rows,
  ].join('\n');
}

// `node --import tsx bench/cli-start.ts`: this bench alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runCliStartBench({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${formatCliStartTable(r)}\n`);
}
