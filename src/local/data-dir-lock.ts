/**
 * The data dir's lock (ADR 0009): one stack per data dir, since DynamoDB Local and s3rver would corrupt
 * each other's files. The lock is a listening Unix-domain socket in the data dir, `stack.lock.<n>`: the
 * kernel closes it when its holder dies, also while the dead process is a zombie nobody has reaped yet,
 * so `connect()` to it succeeds exactly while the holder lives, and a pid reused by another process
 * means nothing. The holder answers each connection with one JSON line: its pid, a random token and
 * whether it is stopping.
 *
 * Taking over a dead holder's lock needs no conditional delete (POSIX has none): the new holder
 * publishes generation n+1 next to the dead n with link(2), which fails with EEXIST if another starter
 * got there first, and the highest generation present is the lock. The socket listens under a private
 * name before it is linked, so a published generation that refuses connections is always a dead one.
 * @see https://man7.org/linux/man-pages/man7/unix.7.html
 * @see https://man7.org/linux/man-pages/man2/link.2.html
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join, relative } from 'node:path';
import { ConfigError, JwksError } from '../errors.ts';

const GENERATION = /^stack\.lock\.(\d+)$/;
/** sun_path holds 104 bytes on macOS (108 on Linux), the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = 103;
/** How long a start waits for a stack that is shutting down (its JVM gets 5 s before SIGKILL). */
export const STOPPING_WAIT_MS = 15_000;
const PROBE_TIMEOUT_MS = 2_000;
const POLL_MS = 50;
const MAX_ATTEMPTS = 1_000;

export interface LockHolder {
  readonly pid: number;
  readonly token: string;
  readonly stopping: boolean;
}

export interface DataDirLock {
  readonly token: string;
  /** From now on, a stack starting on this data dir waits for this one to release the lock. */
  markStopping(): void;
  release(): Promise<void>;
}

export class DataDirLockedError extends JwksError {
  readonly pid: number;
  constructor(dir: string, pid: number, waitedMs?: number) {
    super(
      'DATA_DIR_LOCKED',
      waitedMs === undefined
        ? `data dir ${dir} is in use by another jwks stack (pid ${pid})`
        : `data dir ${dir} is in use by another jwks stack (pid ${pid}), still shutting down after ${waitedMs / 1000} s`,
    );
    this.pid = pid;
  }
}

/**
 * The path to bind or connect to: absolute, or relative to the working directory when only that fits
 * (Node truncates a longer path silently, which would lock the wrong name).
 */
function socketPath(dir: string, name: string): string {
  const absolute = join(dir, name);
  if (Buffer.byteLength(absolute) <= MAX_SOCKET_PATH_BYTES) return absolute;
  const rel = relative(process.cwd(), absolute);
  if (Buffer.byteLength(rel) <= MAX_SOCKET_PATH_BYTES) return rel;
  throw new ConfigError(
    'JWKS_DATA_DIR',
    `data dir ${dir} is too long for its lock socket (${Buffer.byteLength(absolute)} bytes, at most ` +
      `${MAX_SOCKET_PATH_BYTES}): use a shorter path, or start from a directory close to it`,
  );
}

function generations(dir: string): number[] {
  return readdirSync(dir).flatMap((name) => {
    const m = GENERATION.exec(name);
    return m ? [Number(m[1])] : [];
  });
}

function topGeneration(dir: string): number {
  return Math.max(0, ...generations(dir));
}

type Probe = { kind: 'live'; holder: LockHolder } | { kind: 'dead' } | { kind: 'gone' };

/** Connect to generation n: live (it answers or at least accepts), dead (refused) or gone (no file). */
function probe(dir: string, n: number): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = connect(socketPath(dir, `stack.lock.${n}`));
    let answer = '';
    const unknown: LockHolder = { pid: -1, token: '', stopping: false };
    const done = (p: Probe) => {
      socket.destroy();
      resolve(p);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done({ kind: 'live', holder: unknown }));
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('end', () => {
      try {
        done({ kind: 'live', holder: JSON.parse(answer) as LockHolder });
      } catch {
        done({ kind: 'live', holder: unknown });
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') done({ kind: 'gone' });
      // A full accept backlog: a holder that is alive but busy.
      else if (err.code === 'EAGAIN') done({ kind: 'live', holder: unknown });
      // ECONNREFUSED: nobody listens (the kernel closed a dead holder's socket); ECONNRESET: it died answering.
      else done({ kind: 'dead' });
    });
  });
}

/** The live holder of the data dir's lock, or undefined when nobody holds it. The CLI's rule too. */
export async function lockHolder(dir: string): Promise<LockHolder | undefined> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let top: number;
    try {
      top = topGeneration(dir);
    } catch {
      return undefined; // no data dir
    }
    if (top === 0) return undefined;
    const p = await probe(dir, top);
    if (p.kind === 'live') return p.holder;
    if (p.kind === 'dead') return undefined;
    // gone: released or taken over meanwhile; look again
  }
  return undefined;
}

/** Whether a generation below `mine` is live; the dead ones are deleted on the way. */
async function liveBelow(dir: string, mine: number): Promise<boolean> {
  for (const n of generations(dir)) {
    if (n >= mine) continue;
    if ((await probe(dir, n)).kind === 'live') return true;
    unlinkQuietly(join(dir, `stack.lock.${n}`));
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Take the data dir's lock, or throw DataDirLockedError. A lock whose holder is dead (a crash, SIGKILL,
 * a zombie) is taken over at once; a holder that is stopping is waited for up to `stoppingWaitMs`.
 */
export async function lockDataDir(
  dir: string,
  {
    stoppingWaitMs = STOPPING_WAIT_MS,
    onWaiting,
  }: {
    stoppingWaitMs?: number;
    /** Called once when the start begins to wait for a stopping holder (the stack logs it). */
    onWaiting?: (holder: LockHolder) => void;
  } = {},
): Promise<DataDirLock> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(16).toString('hex');
  let stopping = false;
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined); // a prober that hangs up early is no concern of ours
    socket.end(`${JSON.stringify({ pid: process.pid, token, stopping })}\n`);
  });
  const privateName = `stack.lock.t-${token.slice(0, 12)}`;
  const privatePath = socketPath(dir, privateName);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(privatePath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const deadline = Date.now() + stoppingWaitMs;
  let waiting = false;
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const top = topGeneration(dir);
      if (top > 0) {
        const p = await probe(dir, top);
        if (p.kind === 'gone') continue;
        if (p.kind === 'live') {
          if (!p.holder.stopping) throw new DataDirLockedError(dir, p.holder.pid);
          if (Date.now() >= deadline) throw new DataDirLockedError(dir, p.holder.pid, stoppingWaitMs);
          if (!waiting) onWaiting?.(p.holder);
          waiting = true;
          await sleep(POLL_MS);
          continue;
        }
      }
      const mine = top + 1;
      const minePath = join(dir, `stack.lock.${mine}`);
      try {
        linkSync(join(dir, privateName), minePath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue; // another starter won n+1
        throw err;
      }
      // A starter that stalled since it read the dir may have published a generation below a newer one
      // (or, above one published since by another stalled starter): a higher generation, or a lower
      // one that is live, and this one backs off. The older ones are dead and go.
      if (topGeneration(dir) !== mine || (await liveBelow(dir, mine))) {
        unlinkQuietly(minePath);
        continue;
      }
      unlinkQuietly(join(dir, privateName));
      const inode = statSync(minePath).ino;
      return {
        token,
        markStopping: () => {
          stopping = true;
        },
        release: async () => {
          // Only our own generation: never a name someone else published after ours was gone.
          if (statSync(minePath, { throwIfNoEntry: false })?.ino === inode) unlinkQuietly(minePath);
          await close();
        },
      };
    }
    throw new DataDirLockedError(dir, -1);
  } catch (err) {
    unlinkQuietly(join(dir, privateName));
    await close();
    throw err;
  }
}
