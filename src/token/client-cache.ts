/**
 * A read-through cache over ClientStore.get, so a token costs no DynamoDB read while a client's
 * record is fresh (design §2: the token path reads the registry at most once per `signerCacheTtl`).
 *
 * Misses are cached too (an unknown id does not turn every request into a read), concurrent lookups
 * of one id share one read, and the cache is bounded (oldest entry dropped first). The price: a
 * `clients disable` takes effect within `ttlMs` (the endpoint uses the policy's `signerCacheTtl`,
 * 5 s by default), the same bound that applies to a revoked signing key. Writes pass through and drop
 * the entry in this process. `useJti` is never cached: replay detection must see every use.
 */
import type { ChangeContext } from '../core/types.ts';
import type { Clock } from '../ports.ts';
import type { Client, ClientStatus, ClientStore } from './types.ts';

export interface ClientCacheOptions {
  /** How long a read (hit or miss) is used. 0 disables caching. */
  readonly ttlMs: number;
  /** Most cached ids. Default 10 000. */
  readonly maxEntries?: number;
  readonly clock?: Clock;
}

interface Entry {
  readonly client: Promise<Client | undefined>;
  /** Clock value when the read started: the entry's age counts from there. */
  readonly readAt: number;
}

export class CachedClientStore implements ClientStore {
  readonly #store: ClientStore;
  readonly #ttl: number;
  readonly #max: number;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  constructor(store: ClientStore, opts: ClientCacheOptions) {
    this.#store = store;
    this.#ttl = opts.ttlMs;
    this.#max = opts.maxEntries ?? 10_000;
    this.#clock = opts.clock ?? Date.now;
  }

  get(clientId: string): Promise<Client | undefined> {
    if (this.#ttl <= 0) return this.#store.get(clientId);
    const now = this.#clock();
    const entry = this.#entries.get(clientId);
    if (entry && now - entry.readAt < this.#ttl) return entry.client;
    const client = this.#store.get(clientId);
    // A failed read is not remembered: the next request tries again.
    client.catch(() => {
      if (this.#entries.get(clientId)?.client === client) this.#entries.delete(clientId);
    });
    this.#entries.delete(clientId);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(clientId, { client, readAt: now });
    return client;
  }

  async put(client: Client): Promise<void> {
    this.#entries.delete(client.clientId);
    await this.#store.put(client);
    this.#entries.delete(client.clientId);
  }

  list(): Promise<Client[]> {
    return this.#store.list();
  }

  async setStatus(clientId: string, status: ClientStatus, change: ChangeContext): Promise<Client> {
    this.#entries.delete(clientId);
    const client = await this.#store.setStatus(clientId, status, change);
    this.#entries.delete(clientId);
    return client;
  }

  useJti(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    return this.#store.useJti(clientId, jti, expiresAt);
  }
}
