/**
 * The CLI (another process) wakes the stack's idle stream poller through the data dir's wake file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StreamWakeup } from '../../src/local/stream-wakeup.ts';
import { wakeFileSignal, watchWakeFile } from '../../src/local/wake-file.ts';
import { silentLog } from '../../src/ports.ts';

describe('wake file', () => {
  let dir: string;
  let stop: () => void = () => undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wake-'));
  });
  afterEach(() => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wakes a waiting poller when the CLI signals a write', async () => {
    const wakeup = new StreamWakeup();
    stop = watchWakeFile(dir, wakeup, silentLog);
    const since = wakeup.generation;
    const woken = wakeup.wait(10_000, new AbortController().signal, since);
    wakeFileSignal(dir).notify();
    await expect(woken).resolves.toBe(true);
    expect(wakeup.generation).toBeGreaterThan(since);
  });

  it('lets the poller sleep on when nothing signals', async () => {
    const wakeup = new StreamWakeup();
    stop = watchWakeFile(dir, wakeup, silentLog);
    await expect(wakeup.wait(200, new AbortController().signal, wakeup.generation)).resolves.toBe(false);
  });
});
