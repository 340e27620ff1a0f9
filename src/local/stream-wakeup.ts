/**
 * Wakes the local stream poller when this process has just written to the registry table, so an idle
 * poller can back off (few reads of DynamoDB Local while nothing happens) without delaying the
 * publication of this process's own changes (the reconciler, `rotate --now` through the stack, the
 * token path's client writes). Writes from the CLI in another process wake it through the data dir's
 * wake file (wake-file.ts); anything else is found by the backed-off poll.
 * The adapters stay unaware: the stack wraps the ports it hands out (`wakingRegistry`,
 * `wakingClientStore`).
 */
import type { Registry } from '../ports.ts';
import type { ClientStore } from '../token/types.ts';
import type { WakeSignal } from './wake-file.ts';

export class StreamWakeup {
  readonly #waiters = new Set<() => void>();
  #generation = 0;

  /** Bumped by every `notify()`: a waiter compares it to what it saw before its last poll. */
  get generation(): number {
    return this.#generation;
  }

  notify(): void {
    this.#generation++;
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves after `ms`, when `signal` aborts, or on `notify()` — at once if a notify came after the
   * caller saw `since` (a write during the caller's poll is not lost). True when woken by a notify.
   */
  wait(ms: number, signal: AbortSignal, since: number): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.#generation !== since) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(onWake);
        resolve(woken);
      };
      const onAbort = () => done(false);
      const onWake = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(onWake);
    });
  }
}

/** Runs `write`, then wakes the poller — also when the write failed (a condition may have half-held). */
async function thenWake<T>(wakeup: WakeSignal, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } finally {
    wakeup.notify();
  }
}

/** The registry, waking the poller after each write. Reads pass straight through. */
export function wakingRegistry(registry: Registry, wakeup: WakeSignal): Registry {
  return {
    read: () => registry.read(),
    readState: () => registry.readState(),
    commit: (commit) => thenWake(wakeup, registry.commit(commit)),
    markPublished: (keyRefs, at) => thenWake(wakeup, registry.markPublished(keyRefs, at)),
    markRegionPublished: (region, keys, at) =>
      thenWake(wakeup, registry.markRegionPublished(region, keys, at)),
    promote: (input) => thenWake(wakeup, registry.promote(input)),
  };
}

/** The client store (same table, same stream), waking the poller after each write. */
export function wakingClientStore(clients: ClientStore, wakeup: WakeSignal): ClientStore {
  return {
    get: (clientId) => clients.get(clientId),
    list: () => clients.list(),
    put: (client) => thenWake(wakeup, clients.put(client)),
    setStatus: (clientId, status, change) => thenWake(wakeup, clients.setStatus(clientId, status, change)),
    useJti: (clientId, jti, expiresAt) => thenWake(wakeup, clients.useJti(clientId, jti, expiresAt)),
  };
}
