/**
 * The local edge's cache: what CloudFront does with the JWKS and discovery objects, in memory.
 * It keeps an object for as long as its `Cache-Control` allows (so a publish is invisible until
 * max-age passes or an invalidation purges it, exactly what the rotation's pre-publication lead has to
 * survive), collapses concurrent misses into one origin read, and never caches a "not found".
 *
 * A failed origin read is tried ORIGIN_ATTEMPTS times (CloudFront makes up to 3 connection attempts);
 * if all fail, the edge answers with the last good copy of the path rather than a 5xx — within
 * `stale-if-error` as CloudFront does, and also beyond it and right after an invalidation, because
 * locally the origin (s3rver rewriting the object) fails only for moments, and a verifier polling
 * through a rotation must never see an error for that. Only a path never read, or last read as
 * "not found" or `no-store`, gets the error.
 * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/origin-general-settings.html#origin-connection-attempts
 */
import type { Clock, Log, StoredObject } from '../ports.ts';
import { cachePolicy, type TtlLimits } from './cache-control.ts';

export type CacheStatus = 'Hit' | 'Miss' | 'StaleIfError';

export interface CacheResult {
  readonly object: StoredObject;
  readonly status: CacheStatus;
  /** How long the edge has held this copy (0 on a miss). */
  readonly ageMs: number;
}

export interface CachedCopy {
  readonly object: StoredObject;
  /** Clock time the copy was stored. */
  readonly storedAt: number;
}

interface Entry extends CachedCopy {
  readonly ttlMs: number;
  readonly staleIfErrorMs: number;
}

export interface EdgeCacheOptions extends TtlLimits {
  readonly clock: Clock;
  readonly log: Log;
  /** Pause between two attempts of one origin read. Default 25 ms. */
  readonly retryDelayMs?: number;
}

/** Origin reads per miss before the edge gives up on the origin (CloudFront: connection attempts, 1–3). */
export const ORIGIN_ATTEMPTS = 3;

/** CloudFront invalidation paths: exact, or a prefix ending in `*`. */
const matches = (pattern: string, path: string): boolean =>
  pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : pattern === path;

export class EdgeCache {
  readonly #entries = new Map<string, Entry>();
  /** The last copy read from the origin per path; outlives expiry and purges (see the header). */
  readonly #lastGood = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<StoredObject | null>>();
  readonly #opts: EdgeCacheOptions;
  /** Bumped by every purge: an origin read that started before a purge must not refill the cache. */
  #epoch = 0;

  constructor(opts: EdgeCacheOptions) {
    this.#opts = opts;
  }

  /**
   * The cached copy when it is fresh at `now`, synchronously (the edge's hot path: no promise, nothing
   * allocated); undefined when a `lookup` is needed (nothing cached, or stale).
   */
  fresh(path: string, now: number): CachedCopy | undefined {
    const entry = this.#entries.get(path);
    return entry !== undefined && now - entry.storedAt < entry.ttlMs ? entry : undefined;
  }

  /** The cached copy if fresh, else the origin's (via `load`); null when the origin has no object. */
  async lookup(path: string, load: () => Promise<StoredObject | null>): Promise<CacheResult | null> {
    const entry = this.#entries.get(path);
    const now = this.#opts.clock();
    if (entry && now - entry.storedAt < entry.ttlMs) {
      return { object: entry.object, status: 'Hit', ageMs: now - entry.storedAt };
    }
    try {
      const object = await this.#fetch(path, load);
      return object ? { object, status: 'Miss', ageMs: 0 } : null;
    } catch (err) {
      // Re-read: a purge while the origin was failing removes the stale copy from the cache…
      const at = this.#opts.clock();
      const stale = this.#entries.get(path);
      const withinStaleIfError = stale && at - stale.storedAt < stale.ttlMs + stale.staleIfErrorMs;
      // …but not the last good copy, which is still better than an error.
      const copy = withinStaleIfError ? stale : this.#lastGood.get(path);
      if (!copy) throw err;
      this.#opts.log.warn('edge: origin failed, serving the last good copy', {
        path,
        ageMs: at - copy.storedAt,
        withinStaleIfError: Boolean(withinStaleIfError),
        error: err instanceof Error ? err.message : String(err),
      });
      return { object: copy.object, status: 'StaleIfError', ageMs: at - copy.storedAt };
    }
  }

  /** Drop every cached copy (and pending origin read) the paths match. Returns how many copies went. */
  purge(paths: readonly string[]): number {
    this.#epoch++;
    let purged = 0;
    for (const path of [...this.#entries.keys()]) {
      if (paths.some((p) => matches(p, path))) {
        this.#entries.delete(path);
        purged++;
      }
    }
    for (const path of [...this.#inflight.keys()]) {
      if (paths.some((p) => matches(p, path))) this.#inflight.delete(path);
    }
    return purged;
  }

  /** One origin read per path at a time (CloudFront's request collapsing). */
  #fetch(path: string, load: () => Promise<StoredObject | null>): Promise<StoredObject | null> {
    const pending = this.#inflight.get(path);
    if (pending) return pending;
    const epoch = this.#epoch;
    const read = (async () => {
      const object = await this.#loadWithRetries(load);
      if (epoch === this.#epoch) this.#store(path, object);
      return object;
    })();
    const settle = () => {
      if (this.#inflight.get(path) === read) this.#inflight.delete(path);
    };
    read.then(settle, settle);
    this.#inflight.set(path, read);
    return read;
  }

  async #loadWithRetries(load: () => Promise<StoredObject | null>): Promise<StoredObject | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await load();
      } catch (err) {
        if (attempt >= ORIGIN_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, this.#opts.retryDelayMs ?? 25));
      }
    }
  }

  #store(path: string, object: StoredObject | null): void {
    const policy = object ? cachePolicy(object.cacheControl, this.#opts) : undefined;
    if (!object || !policy?.storable) {
      // Gone from the origin, or not to be stored: no copy of it may be served later.
      this.#entries.delete(path);
      this.#lastGood.delete(path);
      return;
    }
    const entry = {
      object,
      storedAt: this.#opts.clock(),
      ttlMs: policy.ttlMs,
      staleIfErrorMs: policy.staleIfErrorMs,
    };
    this.#lastGood.set(path, entry);
    if (policy.ttlMs + policy.staleIfErrorMs <= 0) this.#entries.delete(path);
    else this.#entries.set(path, entry);
  }
}
