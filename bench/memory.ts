/**
 * Memory and readiness of the local stack (issue 22): `npm start` as a user runs it, on a fresh data
 * dir (cold: the first start, which creates the tables, the first keys and publishes them), left alone
 * for `settleMs`, then the resident set of every process of its tree — npm, the stack's node (which
 * hosts fauxqs and s3rver), DynamoDB Local's java, and any other child — and their sum. Then it is
 * stopped and started again on the same data dir (warm: what a user's second `npm start` costs).
 * Readiness is the time from spawning `npm start` to its `ready` line. Once with one region and once
 * with `REGIONS=2`.
 *
 * Per process: RSS (what `ps` shows; the targets are on its sum, as a user adds up `ps`), PSS (pages
 * shared between processes — the node binary's code under npm and the stack — counted once in all),
 * and RSS split into anonymous memory (heaps, JIT code, stacks) and file-backed pages (binaries,
 * shared libraries, jars). Linux only (/proc).
 *
 * Alone: `node --import tsx bench/memory.ts`; `bench/run.ts` calls `runMemoryBench()`.
 */
import { readFileSync, rmSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { startStack, tempDataDir } from '../test/e2e/stack-process.ts';
import { role, tree } from './lib/procfs.ts';
import { fmt, formatTable } from './lib/table.ts';

export const MEMORY_TARGETS_MB = { 1: 250, 2: 400 } as const;
export const READY_WARM_TARGET_MS = 3_000;

export interface ProcessMemory {
  readonly pid: number;
  readonly role: string;
  readonly rssMb: number;
  readonly pssMb: number;
  readonly anonMb: number;
  readonly fileMb: number;
}

export interface StackMemory {
  readonly regions: 1 | 2;
  readonly coldReadyMs: number;
  readonly warmReadyMs: number;
  readonly processes: readonly ProcessMemory[];
  readonly rssMb: number;
  readonly pssMb: number;
  readonly targetMb: number;
}

export interface MemoryResult {
  readonly settleMs: number;
  readonly stacks: readonly StackMemory[];
  readonly readyWarmTargetMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => kb / 1024;

/** kB fields of /proc/<pid>/status and smaps_rollup; undefined when the process is gone. */
function memoryOf(pid: number): Omit<ProcessMemory, 'pid' | 'role'> | undefined {
  const field = (text: string, name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return {
      rssMb: mb(field(status, 'VmRSS')),
      pssMb: mb(field(rollup, 'Pss')),
      anonMb: mb(field(status, 'RssAnon') + field(status, 'RssShmem')),
      fileMb: mb(field(status, 'RssFile')),
    };
  } catch {
    return undefined;
  }
}

async function timedStart(dataDir: string, regions: 1 | 2) {
  const started = performance.now();
  const stack = await startStack({
    dataDir,
    env: { LOG_LEVEL: 'warn', ...(regions === 2 ? { REGIONS: '2' } : {}) },
  });
  return { stack, readyMs: performance.now() - started };
}

async function measureStack(
  regions: 1 | 2,
  settleMs: number,
  log: (l: string) => void,
): Promise<StackMemory> {
  const dataDir = tempDataDir();
  try {
    log(`memory: REGIONS=${regions}: cold start (fresh data dir)…`);
    const cold = await timedStart(dataDir, regions);
    let processes: ProcessMemory[];
    try {
      log(
        `memory: REGIONS=${regions}: ready in ${Math.round(cold.readyMs)} ms; settling ${settleMs / 1000} s`,
      );
      await sleep(settleMs);
      const root = cold.stack.child.pid;
      if (root === undefined) throw new Error('npm start has no pid');
      processes = tree(root).flatMap((pid) => {
        const m = memoryOf(pid);
        return m ? [{ pid, role: role(pid), ...m }] : [];
      });
    } finally {
      await cold.stack.stop();
    }
    log(`memory: REGIONS=${regions}: warm start (same data dir)…`);
    const warm = await timedStart(dataDir, regions);
    await warm.stack.stop();
    return {
      regions,
      coldReadyMs: cold.readyMs,
      warmReadyMs: warm.readyMs,
      processes,
      rssMb: processes.reduce((n, p) => n + p.rssMb, 0),
      pssMb: processes.reduce((n, p) => n + p.pssMb, 0),
      targetMb: MEMORY_TARGETS_MB[regions],
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function runMemoryBench(
  opts: { settleMs?: number; regions?: readonly (1 | 2)[]; log?: (line: string) => void } = {},
): Promise<MemoryResult> {
  const settleMs = opts.settleMs ?? 20_000;
  const log = opts.log ?? (() => {});
  const stacks: StackMemory[] = [];
  for (const regions of opts.regions ?? [1, 2]) stacks.push(await measureStack(regions, settleMs, log));
  return { settleMs, stacks, readyWarmTargetMs: READY_WARM_TARGET_MS };
}

export function formatMemoryTable(r: MemoryResult): string {
  return r.stacks
    .map((s) => {
      const rows = s.processes.map((p) => [
        p.role,
        p.pid,
        fmt(p.rssMb, 1),
        fmt(p.pssMb, 1),
        fmt(p.anonMb, 1),
        fmt(p.fileMb, 1),
      ]);
      rows.push(['total', '', fmt(s.rssMb, 1), fmt(s.pssMb, 1), '', '']);
      return [
        `REGIONS=${s.regions}: npm start, ${r.settleMs / 1000} s after ready; MB (MiB) from /proc`,
        formatTable(['process', 'pid', 'RSS', 'PSS', 'anon', 'file'], rows),
        `RSS total ${fmt(s.rssMb, 1)} MB (target ≤ ${s.targetMb} MB) ${s.rssMb <= s.targetMb ? 'PASS' : 'FAIL'}; ` +
          `ready cold ${fmt(s.coldReadyMs)} ms, warm ${fmt(s.warmReadyMs)} ms` +
          (s.regions === 1
            ? ` (target warm ≤ ${r.readyWarmTargetMs} ms) ${s.warmReadyMs <= r.readyWarmTargetMs ? 'PASS' : 'FAIL'}`
            : ''),
      ].join('\n');
    })
    .join('\n\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const regions = process.argv
    .slice(2)
    .map(Number)
    .filter((n): n is 1 | 2 => n === 1 || n === 2);
  const result = await runMemoryBench({
    ...(regions.length ? { regions } : {}),
    log: (line) => console.error(line),
  });
  console.log(formatMemoryTable(result));
}
