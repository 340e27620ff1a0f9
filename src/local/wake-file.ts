/**
 * A write from another process (the `jwks` CLI on the same data dir) wakes the stack's stream poller
 * through a file: the CLI rewrites `<dataDir>/stream.wake` after each registry or client write, and the
 * stack watches it (inotify on Linux, FSEvents on macOS: no polling, no CPU while idle). So the poller
 * can back off for seconds while nothing happens and still publish an operator's change at once.
 * A write by anything else (another tool writing DynamoDB Local) is found by the backed-off poll.
 */
import { type FSWatcher, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Log } from '../ports.ts';

export const WAKE_FILE = 'stream.wake';

/** What the waking wrappers call after a write (the in-process `StreamWakeup` is one too). */
export interface WakeSignal {
  notify(): void;
}

/**
 * The CLI's side: each notify rewrites the wake file — synchronously, since a CLI exits as soon as its
 * output is written; a failure only costs the backed-off interval.
 */
export function wakeFileSignal(dataDir: string): WakeSignal {
  const path = join(dataDir, WAKE_FILE);
  return {
    notify() {
      try {
        writeFileSync(path, `${Date.now()}\n`, { mode: 0o600 });
      } catch {
        // No wake file (a stack from before it, or a read-only data dir): the poll finds the write.
      }
    },
  };
}

/** The stack's side: every change of the wake file wakes `wakeup`. Returns the function that stops it. */
export function watchWakeFile(dataDir: string, wakeup: WakeSignal, log: Log): () => void {
  const path = join(dataDir, WAKE_FILE);
  writeFileSync(path, '', { mode: 0o600 });
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, { persistent: false }, () => wakeup.notify());
    watcher.on('error', (error) =>
      log.warn('wake file watch failed; CLI writes wait for the poll', { error }),
    );
  } catch (error) {
    log.warn('cannot watch the wake file; CLI writes wait for the poll', { error });
  }
  return () => watcher?.close();
}
