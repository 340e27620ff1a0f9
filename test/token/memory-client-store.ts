/**
 * An in-memory ClientStore faithful to DynamoDbClientStore where callers can tell: create-only puts
 * (ConflictError), records validated on the way in, copies out (no shared mutable state), and
 * `useJti` true only the first time within the jti's lifetime. It records every argument it is given,
 * so tests can assert that a secret never reached the store. Also used by bench/token.ts.
 */
import type { ChangeContext } from '../../src/core/types.ts';
import { ConflictError } from '../../src/errors.ts';
import type { Clock } from '../../src/ports.ts';
import { clientFromRecord } from '../../src/token/client-validation.ts';
import { ClientNotFoundError } from '../../src/token/errors.ts';
import type { Client, ClientStatus, ClientStore } from '../../src/token/types.ts';

export class MemoryClientStore implements ClientStore {
  /** Every call with its arguments, serialized (what the store "saw"). */
  readonly seen: string[] = [];
  /** How many `get` calls reached the store (cache tests). */
  gets = 0;
  readonly #clients = new Map<string, Client>();
  readonly #jtis = new Map<string, number>();
  readonly #clock: Clock;

  constructor(opts: { clock?: Clock } = {}) {
    this.#clock = opts.clock ?? Date.now;
  }

  async get(clientId: string): Promise<Client | undefined> {
    this.gets += 1;
    this.seen.push(JSON.stringify(['get', clientId]));
    const c = this.#clients.get(clientId);
    return c ? structuredClone(c) : undefined;
  }

  async put(client: Client): Promise<void> {
    this.seen.push(JSON.stringify(['put', client]));
    const record = clientFromRecord(client as unknown as Record<string, unknown>);
    if (this.#clients.has(record.clientId)) throw new ConflictError(`client ${record.clientId} exists`);
    this.#clients.set(record.clientId, structuredClone(record));
  }

  async list(): Promise<Client[]> {
    this.seen.push(JSON.stringify(['list']));
    return [...this.#clients.values()]
      .sort((a, b) => (a.clientId < b.clientId ? -1 : 1))
      .map((c) => structuredClone(c));
  }

  async setStatus(clientId: string, status: ClientStatus, change: ChangeContext): Promise<Client> {
    this.seen.push(JSON.stringify(['setStatus', clientId, status, change]));
    const c = this.#clients.get(clientId);
    if (!c) throw new ClientNotFoundError(clientId);
    const next: Client = { ...c, status, updatedAt: this.#clock(), ...change };
    this.#clients.set(clientId, next);
    return structuredClone(next);
  }

  async useJti(clientId: string, jti: string, expiresAt: number): Promise<boolean> {
    this.seen.push(JSON.stringify(['useJti', clientId, jti, expiresAt]));
    const key = `${clientId}#${jti}`;
    const until = this.#jtis.get(key);
    if (until !== undefined && until >= this.#clock()) return false;
    this.#jtis.set(key, expiresAt);
    return true;
  }
}
