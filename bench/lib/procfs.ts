/**
 * Process CPU times from Linux's /proc, for the benchmarks that report CPU per process (idle-cpu.ts)
 * or per request (jwks-serving.ts): robust where throughput is not, on a machine shared with other work.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux the stack runs on). */
export const CLK_TCK = 100;

interface Stat {
  readonly ppid: number;
  readonly ticks: number;
}

export function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields 4 (ppid), 14 (utime), 15 (stime), numbered from 1; `fields` starts at field 3.
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // gone
  }
}

/** The pid and every descendant of it. */
export function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

export function role(pid: number): string {
  let cmd: string[];
  try {
    cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'gone';
  }
  const line = cmd.join(' ');
  const exe = (cmd[0] ?? '?').split('/').pop() ?? '?';
  if (exe === 'sh' || exe === 'bash') return exe;
  if (/DynamoDBLocal\.jar/.test(line)) return 'java (DynamoDB Local)';
  if (/s3rver-process/.test(line)) return 's3rver (node)';
  if (/src\/local\/main\.ts/.test(line)) return 'node (stack, fauxqs)';
  if (/npm/.test(line)) return 'npm';
  return exe;
}

/** CPU time (user + system) of the process so far, in µs; undefined when it is gone. */
export function cpuMicros(pid: number): number | undefined {
  const stat = readStat(pid);
  return stat === undefined ? undefined : (stat.ticks * 1_000_000) / CLK_TCK;
}
