/**
 * Idle CPU of the whole local stack (issue 11): `npm start` as a user runs it, left alone for
 * `settleMs` (start-up work, the first reconcile, JIT warm-up), then the CPU time (utime + stime from
 * /proc/<pid>/stat) every process of its tree spent over `windowMs` with nothing happening. Reported
 * per process (npm, the stack's node — which hosts fauxqs and s3rver —, DynamoDB Local's java) and
 * in total, as % of one core. Target: total ≤ 3 %. Linux only (/proc).
 *
 * Alone: `node --import tsx bench/idle-cpu.ts [windowSeconds]`; `bench/run.ts` calls `runIdleCpuBench()`.
 */
import { rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startStack } from '../test/e2e/stack-process.ts';
import { CLK_TCK, readStat, role, tree } from './lib/procfs.ts';
import { fmt, formatTable } from './lib/table.ts';

export interface IdleCpuOptions {
  readonly settleMs?: number;
  readonly windowMs?: number;
  readonly log?: (line: string) => void;
}

export interface ProcessCpu {
  readonly pid: number;
  /** What the process is: npm, node (stack), s3rver, java (DynamoDB Local), or its command name. */
  readonly role: string;
  /** CPU time over the window as % of one core. */
  readonly percent: number;
}

export interface IdleCpuResult {
  readonly processes: readonly ProcessCpu[];
  readonly totalPercent: number;
  readonly targetPercent: number;
  readonly options: Required<Omit<IdleCpuOptions, 'log'>>;
}

export const IDLE_CPU_TARGET_PERCENT = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runIdleCpuBench(options: IdleCpuOptions = {}): Promise<IdleCpuResult> {
  const opts = { settleMs: options.settleMs ?? 20_000, windowMs: options.windowMs ?? 30_000 };
  const log = options.log ?? (() => {});
  log('idle: starting the local stack (npm start)…');
  const stack = await startStack({ env: { LOG_LEVEL: 'warn' } });
  try {
    const root = stack.child.pid;
    if (root === undefined) throw new Error('npm start has no pid');
    log(`idle: settling ${opts.settleMs / 1000} s, then measuring ${opts.windowMs / 1000} s of nothing`);
    await sleep(opts.settleMs);
    const pids = tree(root);
    const before = new Map(pids.map((p) => [p, readStat(p)?.ticks ?? 0]));
    const started = performance.now();
    await sleep(opts.windowMs);
    const seconds = (performance.now() - started) / 1000;
    const processes = pids
      .map((pid) => {
        const after = readStat(pid)?.ticks;
        const ticks = after === undefined ? 0 : after - (before.get(pid) ?? 0);
        return { pid, role: role(pid), percent: (100 * ticks) / CLK_TCK / seconds };
      })
      .filter((p) => p.role !== 'sh' || p.percent > 0);
    const totalPercent = processes.reduce((n, p) => n + p.percent, 0);
    return { processes, totalPercent, targetPercent: IDLE_CPU_TARGET_PERCENT, options: opts };
  } finally {
    await stack.stop();
    rmSync(stack.dataDir, { recursive: true, force: true });
  }
}

export function formatIdleCpuTable(r: IdleCpuResult): string {
  const rows = r.processes.map((p) => [p.role, p.pid, fmt(p.percent, 2)]);
  rows.push(['total', '', fmt(r.totalPercent, 2)]);
  return [
    `npm start, ${r.options.settleMs / 1000} s settle, then ${r.options.windowMs / 1000} s idle; ` +
      'utime+stime from /proc, % of one core',
    formatTable(['process', 'pid', 'CPU %'], rows),
    `total ${fmt(r.totalPercent, 2)} % (target ≤ ${r.targetPercent} %) ` +
      (r.totalPercent <= r.targetPercent ? 'PASS' : 'FAIL'),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const windowSeconds = Number(process.argv[2]);
  const result = await runIdleCpuBench({
    ...(windowSeconds > 0 ? { windowMs: windowSeconds * 1000 } : {}),
    log: (line) => console.error(line),
  });
  console.log(formatIdleCpuTable(result));
}
