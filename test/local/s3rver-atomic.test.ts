/**
 * The embedded S3's per-key readers-writer lock (src/local/s3rver-atomic.mjs): what keeps a GET from
 * seeing a PUT half done. The race itself, against a real s3rver, is in test/e2e/regional-jwks-race.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module (it runs in s3rver's child process without a TS loader)
import { keyLocks } from '../../src/local/s3rver-atomic.mjs';

interface Locks {
  shared<T>(key: string, fn: () => Promise<T>): Promise<T>;
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<T>;
  readonly size: number;
}

/** A step that runs until `open()`: records when it started and ended. */
function step(log: string[], name: string) {
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open,
    run: async () => {
      log.push(`${name}+`);
      await gate;
      log.push(`${name}-`);
      return name;
    },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('keyLocks', () => {
  it('lets reads of a key run together', async () => {
    const locks = keyLocks() as Locks;
    const log: string[] = [];
    const [a, b] = [step(log, 'r1'), step(log, 'r2')];
    const done = Promise.all([locks.shared('k', a.run), locks.shared('k', b.run)]);
    await turn();
    expect(log).toEqual(['r1+', 'r2+']);
    a.open();
    b.open();
    expect(await done).toEqual(['r1', 'r2']);
  });

  it('holds a read back while a write of the same key runs, and a write while reads run', async () => {
    const locks = keyLocks() as Locks;
    const log: string[] = [];
    const [r1, w, r2] = [step(log, 'r1'), step(log, 'w'), step(log, 'r2')];
    const done = Promise.all([
      locks.shared('k', r1.run),
      locks.exclusive('k', w.run),
      locks.shared('k', r2.run),
    ]);
    await turn();
    // The write waits for r1; r2 came after the write and waits for it (no writer starves).
    expect(log).toEqual(['r1+']);
    r1.open();
    await turn();
    expect(log).toEqual(['r1+', 'r1-', 'w+']);
    w.open();
    await turn();
    expect(log).toEqual(['r1+', 'r1-', 'w+', 'w-', 'r2+']);
    r2.open();
    await done;
    expect(locks.size).toBe(0);
  });

  it('does not order operations on different keys', async () => {
    const locks = keyLocks() as Locks;
    const log: string[] = [];
    const [a, b] = [step(log, 'a'), step(log, 'b')];
    const done = Promise.all([locks.exclusive('a', a.run), locks.exclusive('b', b.run)]);
    await turn();
    expect(log).toEqual(['a+', 'b+']);
    b.open();
    a.open();
    await done;
  });

  it('releases the key when the operation fails', async () => {
    const locks = keyLocks() as Locks;
    await expect(
      locks.exclusive('k', async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(locks.size).toBe(0);
    expect(await locks.shared('k', async () => 'read')).toBe('read');
  });
});
