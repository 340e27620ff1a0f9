/**
 * Signs JWTs with the ACTIVE key (design §2 "token" and §3 `signerCacheTtl`).
 *
 * The signer reads only the registry's STATE item, and at most once per `cacheTtlMs` per instance
 * (callers arriving while a read is in flight share it), so a burst of token requests costs one
 * registry read. The view's age is measured from the start of its read, so a key revoked at time t
 * is not used after t + cacheTtlMs (design §3 invariant 4).
 *
 * When the vault refuses the key (KeyUnusableError: it was retired and disabled, or revoked, under
 * a cached view) the signer re-reads STATE at once and retries ONCE with the key it names; if STATE
 * still names the refused key, the refusal is the answer. Concurrent refusals share one re-read.
 *
 * Before a key's first signature the signer asks the vault for its public key: the kid STATE names must
 * be its RFC 7638 thumbprint, or nothing is signed (UnverifiedKeyError, design §11): a write to the
 * table cannot make tokens carry a kid the vault does not back. The vault's kid is kept per key id
 * (key material never changes), so this costs one GetPublicKey per key per instance; a failure is
 * not kept. That the key is this deployment's is KMS's to enforce: only its key policy grants Sign.
 */
import { compactJws, encodeHeader, signingInputOf } from './core/jws.ts';
import type { Algorithm, RegistryState } from './core/types.ts';
import { KeyUnusableError, NoActiveKeyError, UnverifiedKeyError } from './errors.ts';
import type { Clock, KeyVault, Registry } from './ports.ts';

export interface SignerOptions {
  readonly registry: Pick<Registry, 'readState'>;
  readonly vault: Pick<KeyVault, 'sign' | 'getPublicJwk'>;
  /** How long a STATE view may be used (the policy's `signerCacheTtl`). */
  readonly cacheTtlMs: number;
  readonly clock?: Clock;
}

export interface SignResult {
  readonly token: string;
  readonly kid: string;
  readonly alg: Algorithm;
}

interface ActiveKey {
  readonly kid: string;
  readonly alg: Algorithm;
  readonly vaultKeyId: string;
}

interface View {
  readonly key: ActiveKey | undefined;
  /** With no ACTIVE key: the standby that activates once published (named in NoActiveKeyError). */
  readonly awaitingKid: string | undefined;
  /** Clock value when the read started. */
  readonly readAt: number;
  readonly seq: number;
}

function activeKeyOf(state: RegistryState): ActiveKey | undefined {
  const { activeKid: kid, activeAlg: alg, activeVaultKeyId: vaultKeyId } = state;
  return kid && alg && vaultKeyId ? { kid, alg, vaultKeyId } : undefined;
}

export class Signer {
  readonly #registry: Pick<Registry, 'readState'>;
  readonly #vault: Pick<KeyVault, 'sign' | 'getPublicJwk'>;
  /** The vault's kid per vault key id (and alg), once it answered. */
  readonly #vaultKids = new Map<string, Promise<string>>();
  readonly #ttl: number;
  readonly #clock: Clock;
  #view: View | undefined;
  #inflight: Promise<ActiveKey | undefined> | undefined;
  /** The re-read started because the vault refused `vaultKeyId`; shared by concurrent refusals. */
  #refresh: { readonly vaultKeyId: string; readonly key: Promise<ActiveKey | undefined> } | undefined;
  #seq = 0;
  /** The encoded protected header of the last key and typ used: the same for every token of a key. */
  #header: { readonly id: string; readonly encoded: string } | undefined;

  constructor(opts: SignerOptions) {
    this.#registry = opts.registry;
    this.#vault = opts.vault;
    this.#ttl = opts.cacheTtlMs;
    this.#clock = opts.clock ?? Date.now;
  }

  async sign(claims: Record<string, unknown>, options: { typ?: string } = {}): Promise<SignResult> {
    const typ = options.typ ?? 'JWT';
    const key = await this.#current();
    try {
      return await this.#signWith(key, claims, typ);
    } catch (err) {
      if (!(err instanceof KeyUnusableError)) throw err;
      const fresh = await this.#afterRefusal(key);
      if (fresh === undefined) throw this.#noActiveKey({ cause: err });
      if (fresh.vaultKeyId === key.vaultKeyId) throw err;
      return this.#signWith(fresh, claims, typ);
    }
  }

  async #signWith(key: ActiveKey, claims: Record<string, unknown>, typ: string): Promise<SignResult> {
    await this.#assertBacked(key);
    const id = `${key.alg} ${key.kid} ${typ}`;
    if (this.#header?.id !== id) {
      this.#header = { id, encoded: encodeHeader({ alg: key.alg, kid: key.kid, typ }) };
    }
    const input = signingInputOf(this.#header.encoded, claims);
    const signature = await this.#vault.sign(key.vaultKeyId, key.alg, input.bytes);
    return { token: compactJws(input, signature), kid: key.kid, alg: key.alg };
  }

  /** Throws unless the vault's public key for the key id has exactly STATE's kid. */
  async #assertBacked(key: ActiveKey): Promise<void> {
    const id = `${key.alg} ${key.vaultKeyId}`;
    let kid = this.#vaultKids.get(id);
    if (!kid) {
      kid = this.#vault.getPublicJwk(key.vaultKeyId, key.alg).then((jwk) => jwk.kid);
      this.#vaultKids.set(id, kid);
      kid.catch(() => this.#vaultKids.delete(id));
    }
    if ((await kid) !== key.kid) {
      throw new UnverifiedKeyError(
        `the registry's active kid ${key.kid} is not the vault key's ${key.vaultKeyId}`,
      );
    }
  }

  /** The ACTIVE key from a view younger than the TTL, reading STATE (once for all callers) if needed. */
  async #current(): Promise<ActiveKey> {
    const view = this.#view;
    const key =
      view && this.#clock() - view.readAt < this.#ttl ? view.key : await (this.#inflight ?? this.#read());
    if (!key) throw this.#noActiveKey();
    return key;
  }

  #noActiveKey(options?: { cause?: unknown }): NoActiveKeyError {
    const awaiting = this.#view?.awaitingKid;
    return awaiting
      ? NoActiveKeyError.awaitingPublication(awaiting, options)
      : new NoActiveKeyError(undefined, options);
  }

  async #afterRefusal(refused: ActiveKey): Promise<ActiveKey | undefined> {
    // Another caller's re-read already replaced the refused key: use its view.
    const current = this.#view?.key;
    if (current?.vaultKeyId !== refused.vaultKeyId && this.#refresh?.vaultKeyId === refused.vaultKeyId) {
      return current;
    }
    if (this.#refresh?.vaultKeyId !== refused.vaultKeyId) {
      this.#refresh = { vaultKeyId: refused.vaultKeyId, key: this.#read() };
    }
    return this.#refresh.key;
  }

  #read(): Promise<ActiveKey | undefined> {
    const seq = ++this.#seq;
    const readAt = this.#clock();
    const read = this.#registry.readState().then((state) => {
      const key = activeKeyOf(state);
      // A slower, older read never overwrites a newer view.
      if (!this.#view || this.#view.seq < seq) {
        this.#view = { key, awaitingKid: key ? undefined : state.pendingKid, readAt, seq };
      }
      return key;
    });
    this.#inflight = read;
    const settle = () => {
      if (this.#inflight === read) this.#inflight = undefined;
    };
    read.then(settle, settle);
    return read;
  }
}
