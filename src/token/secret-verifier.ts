/**
 * Verifies a presented client secret against a client's stored hash, in a way that does not reveal
 * whether the client exists, and without paying scrypt on every token request.
 *
 * - An unknown client (or one without a secret) is verified against a dummy hash with the same
 *   parameters, so the work done — one scrypt and one constant-time compare — is the same as for a
 *   known client with a wrong secret.
 * - A successful verification is remembered for `cacheTtlMs` under an HMAC of (client id, secret)
 *   with a per-process random key, bound to the exact stored hash it matched. A later request with
 *   the same secret skips scrypt; a wrong secret never matches an entry (it has a different HMAC), so
 *   every failure still costs a full scrypt, and a changed hash never matches a stale entry. Only
 *   holders of the right secret can observe the faster path. The cache holds no secret: the HMAC key
 *   never leaves this object.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../ports.ts';
import { generateSecret, hashSecret, type ParsedHash, parseSecretHash, verifySecretHash } from './secrets.ts';

export interface SecretVerifierOptions {
  /** How long a successful verification is remembered. Default 5 minutes; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  /** Most remembered verifications (oldest dropped first). Default 10 000. */
  readonly maxEntries?: number;
  readonly clock?: Clock;
}

interface Entry {
  readonly secretHash: string;
  readonly expiresAt: number;
}

let dummy: Promise<ParsedHash> | undefined;
/** A hash of a random secret nobody knows, computed once per process. */
const dummyHash = (): Promise<ParsedHash> => {
  dummy ??= hashSecret(generateSecret()).then(parseSecretHash);
  return dummy;
};

export class SecretVerifier {
  readonly #key = randomBytes(32);
  readonly #ttl: number;
  readonly #max: number;
  readonly #clock: Clock;
  readonly #verified = new Map<string, Entry>();
  readonly #parsed = new Map<string, ParsedHash>();
  readonly #inflight = new Map<string, Promise<boolean>>();

  constructor(opts: SecretVerifierOptions = {}) {
    this.#ttl = opts.cacheTtlMs ?? 5 * 60_000;
    this.#max = opts.maxEntries ?? 10_000;
    this.#clock = opts.clock ?? Date.now;
  }

  /** Start computing the dummy hash now, so the first unknown client does not pay for it. */
  warmUp(): Promise<void> {
    return dummyHash().then(() => undefined);
  }

  /**
   * Whether `secret` is the secret of the client whose stored hash is `secretHash`. With no stored
   * hash (unknown client, or a client without a secret) it does the same work and returns false.
   * A malformed stored hash counts as a mismatch (after the same work against the dummy).
   */
  async verify(clientId: string, secret: string, secretHash: string | undefined): Promise<boolean> {
    const cacheKey = this.#ttl > 0 ? this.#cacheKey(clientId, secret) : undefined;
    if (cacheKey !== undefined && secretHash !== undefined) {
      const hit = this.#verified.get(cacheKey);
      if (hit && hit.secretHash === secretHash && hit.expiresAt > this.#clock()) return true;
    }
    if (cacheKey === undefined) return this.#derive(secret, secretHash);
    // A burst of identical requests (a cold container, a client's retry storm) shares one scrypt.
    const flightKey = `${cacheKey}:${secretHash ?? ''}`;
    const pending = this.#inflight.get(flightKey);
    if (pending) return pending;
    const result = this.#derive(secret, secretHash).then((ok) => {
      if (ok && secretHash !== undefined) this.#remember(cacheKey, secretHash);
      return ok;
    });
    this.#inflight.set(flightKey, result);
    const settle = () => this.#inflight.delete(flightKey);
    result.then(settle, settle);
    return result;
  }

  async #derive(secret: string, secretHash: string | undefined): Promise<boolean> {
    const parsed = secretHash === undefined ? undefined : this.#parse(secretHash);
    const ok = await verifySecretHash(secret, parsed ?? (await dummyHash()));
    return ok && parsed !== undefined;
  }

  #cacheKey(clientId: string, secret: string): string {
    // Length-prefixing the id keeps ("a", "b:c") and ("a:b", "c") apart.
    return createHmac('sha256', this.#key)
      .update(`${clientId.length}:${clientId}:${secret}`)
      .digest('base64url');
  }

  #parse(secretHash: string): ParsedHash | undefined {
    let parsed = this.#parsed.get(secretHash);
    if (parsed) return parsed;
    try {
      parsed = parseSecretHash(secretHash);
    } catch {
      return undefined;
    }
    if (this.#parsed.size >= this.#max) this.#parsed.clear();
    this.#parsed.set(secretHash, parsed);
    return parsed;
  }

  #remember(cacheKey: string, secretHash: string): void {
    this.#verified.delete(cacheKey);
    if (this.#verified.size >= this.#max) {
      const oldest = this.#verified.keys().next();
      if (!oldest.done) this.#verified.delete(oldest.value);
    }
    this.#verified.set(cacheKey, { secretHash, expiresAt: this.#clock() + this.#ttl });
  }
}
