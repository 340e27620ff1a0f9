/**
 * The data dir's lock (ADR 0009) against real processes: a holder that lives, one that crashed, one
 * that is a zombie nobody reaps, one whose pid another process got since, one that is shutting down.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { readStackInfo, writeStackInfo } from '../../src/local/data-dir.ts';
import { type DataDirLock, lockDataDir } from '../../src/local/data-dir-lock.ts';
import { stackInfoFor } from '../support/fixtures.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HOLDER = join(import.meta.dirname, 'lock-holder.ts');
const HOLDER_CMD = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(HOLDER)}`;

const dirs: string[] = [];
const children: ChildProcess[] = [];
const locks: DataDirLock[] = [];

afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release();
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jwks-lock-'));
  dirs.push(dir);
  return dir;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A child process (`sh -c script`, or the holder itself) and the lines it prints. */
function run(command: string, args: string[]) {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  return { child, lines, exited };
}

/** A process holding `dir`'s lock (and naming itself in stack.json); resolves once it holds it. */
async function holder(dir: string, flag?: '--crash') {
  const h = run(process.execPath, ['--import', 'tsx', HOLDER, dir, ...(flag ? [flag] : [])]);
  await until('the holder locked', () => h.lines.some((l) => l.startsWith('locked ')));
  return { ...h, pid: h.child.pid as number };
}

/** `ps` state of a process (Linux and macOS): `Z…` for a zombie, '' once it is gone. */
function processState(pid: number): string {
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/**
 * A lock holder that crashed and stays a zombie: its parent (`sh`, exec'd into `sleep`) never waits for
 * it, as a container's PID 1 without an init does not.
 */
async function zombieHolder(dir: string): Promise<number> {
  const z = run('sh', ['-c', `${HOLDER_CMD} "$0" --crash & echo "child $!"; exec sleep 600`, dir]);
  await until('the holder locked', () => z.lines.some((l) => l.startsWith('locked ')));
  const pid = Number(z.lines.find((l) => l.startsWith('child '))?.slice(6));
  await until('the holder is a zombie', () => processState(pid).startsWith('Z'));
  return pid;
}

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
function canChoosePids(): boolean {
  try {
    writeFileSync(NS_LAST_PID, '300');
    return true;
  } catch {
    return false;
  }
}

/** An unrelated process (`sleep`) that gets exactly `pid` (Linux, CAP_SYS_ADMIN: ns_last_pid). */
async function squatter(pid: number): Promise<ChildProcess> {
  for (let attempt = 0; attempt < 200; attempt++) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(child);
    if (child.pid === pid) return child;
    child.kill('SIGKILL'); // another process forked in between: try again
  }
  throw new Error(`could not start a process with pid ${pid}`);
}

describe('lockDataDir', () => {
  it('refuses with DATA_DIR_LOCKED, naming the holder, while the holder lives', async () => {
    const dir = dataDir();
    const h = await holder(dir);
    await expect(lockDataDir(dir)).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED', pid: h.pid });
  });

  it('takes the lock at once when the holder was killed', async () => {
    const dir = dataDir();
    const h = await holder(dir);
    h.child.kill('SIGKILL');
    await h.exited;
    locks.push(await lockDataDir(dir));
    await expect(lockDataDir(dir)).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED', pid: process.pid });
  });

  it('takes the lock when the holder crashed and is a zombie nobody reaps', async () => {
    const dir = dataDir();
    await zombieHolder(dir);
    locks.push(await lockDataDir(dir));
  });

  it.skipIf(!canChoosePids())(
    'takes the lock when the holder died and an unrelated process started since has its pid',
    async () => {
      const dir = dataDir();
      const h = await holder(dir, '--crash');
      await h.exited;
      const other = await squatter(h.pid);
      expect(processState(h.pid)).not.toBe('');
      locks.push(await lockDataDir(dir));
      expect(other.exitCode).toBeNull();
    },
  );

  it('waits for a holder that is shutting down and takes the lock once it is released', async () => {
    const dir = dataDir();
    const h = await holder(dir);
    h.child.stdin?.write('stop\n');
    await until('the holder is stopping', () => h.lines.includes('stopping'));
    let waitingFor: number | undefined;
    const taking = lockDataDir(dir, {
      onWaiting: (holder) => {
        waitingFor = holder.pid;
      },
    });
    await until('the start waits', () => waitingFor !== undefined);
    expect(waitingFor).toBe(h.pid);
    h.child.stdin?.write('release\n');
    locks.push(await taking);
  });

  it('gives up with DATA_DIR_LOCKED when the holder is still shutting down after the bounded wait', async () => {
    const dir = dataDir();
    const h = await holder(dir);
    h.child.stdin?.write('stop\n');
    await until('the holder is stopping', () => h.lines.includes('stopping'));
    await expect(lockDataDir(dir, { stoppingWaitMs: 300 })).rejects.toMatchObject({
      code: 'DATA_DIR_LOCKED',
      pid: h.pid,
    });
  });

  it('lets exactly one of several concurrent starts take a dead holder’s lock', async () => {
    const dir = dataDir();
    const h = await holder(dir, '--crash');
    await h.exited;
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => lockDataDir(dir)));
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    locks.push(...won);
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'DATA_DIR_LOCKED' });
    }
  });

  it('leaves no lock behind once released, and the next start takes it', async () => {
    const dir = dataDir();
    const lock = await lockDataDir(dir);
    await lock.release();
    expect(readdirSync(dir).filter((n) => n.startsWith('stack.lock'))).toEqual([]);
    locks.push(await lockDataDir(dir));
  });

  it('refuses a data dir whose socket path cannot fit, with INVALID_CONFIG', async () => {
    const dir = join(dataDir(), 'd'.repeat(100));
    await expect(lockDataDir(dir)).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(existsSync(dir) && readdirSync(dir).length).toBeFalsy();
  });
});

describe('readStackInfo', () => {
  it('returns stack.json while the process it names holds the lock', async () => {
    const dir = dataDir();
    const h = await holder(dir);
    expect((await readStackInfo(dir))?.pid).toBe(h.pid);
  });

  it('returns null once that stack is shutting down', async () => {
    const dir = dataDir();
    const h = await holder(dir);
    h.child.stdin?.write('stop\n');
    await until('the holder is stopping', () => h.lines.includes('stopping'));
    expect(await readStackInfo(dir)).toBeNull();
  });

  it('returns null when the stack that wrote it is a zombie', async () => {
    const dir = dataDir();
    await zombieHolder(dir);
    expect(await readStackInfo(dir)).toBeNull();
  });

  it('returns null when the pid it names belongs to an unrelated live process', async () => {
    const dir = dataDir();
    const unrelated = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(unrelated);
    writeStackInfo(dir, stackInfoFor(dir, unrelated.pid as number));
    expect(await readStackInfo(dir)).toBeNull();
  });
});
