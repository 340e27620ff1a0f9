/**
 * An in-memory KeyVault with real node:crypto keys, faithful to KMS where the system depends on it:
 * keys are Enabled, Disabled or PendingDeletion; GetPublicKey and Sign fail unless Enabled
 * (KeyUnusableError); DisableKey on a key pending deletion fails (KMSInvalidStateException);
 * ListKeys (the tagging API) still lists keys pending deletion. PS256 uses a digest-length salt as
 * KMS does.
 *
 * Key generation is the slow part of a property test (RSA-2048 takes ~100 ms), so key pairs come
 * from a process-wide pool: each vault draws distinct pairs from it (kids never collide within one
 * vault), and later vaults reuse the same pairs instead of generating new ones.
 */
import { constants, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { Algorithm, KeyRecord, PublicJwk, VaultKey } from '../../src/core/types.ts';
import type { VaultKeyFacts } from '../../src/core/vault-proof.ts';
import { InvalidArgumentError, KeyNotFoundError, KeyUnusableError } from '../../src/errors.ts';
import type { KeyVault } from '../../src/ports.ts';
import { Faults } from './faults.ts';
import { keyRecord } from './fixtures.ts';

export type MemoryKeyState = 'Enabled' | 'Disabled' | 'PendingDeletion';

type KeyType = 'RSA' | 'P-256' | 'P-384';
const KEY_TYPE: Record<Algorithm, KeyType> = { RS256: 'RSA', PS256: 'RSA', ES256: 'P-256', ES384: 'P-384' };

interface Pair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

const POOL: Record<KeyType, Pair[]> = { RSA: [], 'P-256': [], 'P-384': [] };

function generate(type: KeyType): Pair {
  return type === 'RSA'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: type });
}

interface Entry {
  readonly vaultKeyId: string;
  readonly keyRef: string | undefined;
  readonly alg: Algorithm;
  /** Tagged for another deployment (not a port concept: the vault reports it as not ours). */
  readonly otherDeployment?: boolean;
  readonly pair: Pair;
  state: MemoryKeyState;
  deletionWindowDays?: number;
}

export class MemoryKeyVault implements KeyVault {
  readonly faults: Faults;
  #entries = new Map<string, Entry>();
  #cursor: Record<KeyType, number> = { RSA: 0, 'P-256': 0, 'P-384': 0 };
  #seq = 0;

  constructor(opts: { faults?: Faults } = {}) {
    this.faults = opts.faults ?? new Faults();
  }

  /** Generate `count` pairs per algorithm's key type up front (call once in a beforeAll). */
  static warmPool(algs: readonly Algorithm[], count: number): void {
    for (const type of new Set(algs.map((a) => KEY_TYPE[a]))) {
      while (POOL[type].length < count) POOL[type].push(generate(type));
    }
  }

  /** State of a key (not a port method). */
  stateOf(vaultKeyId: string): MemoryKeyState {
    return this.#entry(vaultKeyId).state;
  }

  /** Every key ever created, with its state (not a port method). */
  all(): Array<{ vaultKeyId: string; keyRef?: string; alg: Algorithm; state: MemoryKeyState }> {
    return [...this.#entries.values()].map(({ vaultKeyId, keyRef, alg, state }) => ({
      vaultKeyId,
      ...(keyRef === undefined ? {} : { keyRef }),
      alg,
      state,
    }));
  }

  /** A key carrying this deployment's tag that this system did not create (an operator's, or a bug's). */
  addForeignKey(opts: { keyRef?: string; alg?: Algorithm } = {}): string {
    return this.#create(opts.keyRef, opts.alg ?? 'ES256');
  }

  /** A key tagged for another deployment of the same account (not a port method). */
  addOtherDeploymentKey(opts: { keyRef?: string; alg?: Algorithm } = {}): string {
    const id = this.#create(opts.keyRef, opts.alg ?? 'ES256');
    this.#entries.set(id, { ...this.#entry(id), otherDeployment: true });
    return id;
  }

  /** As KMS: tags of any key, the public key (SPKI DER) of ours while Enabled. */
  describeKey(vaultKeyId: string): Promise<VaultKeyFacts> {
    return this.faults.run('vault.describeKey', () => {
      const e = this.#entries.get(vaultKeyId);
      if (!e) return { kind: 'absent' as const };
      const facts = {
        kind: 'present' as const,
        ours: !e.otherDeployment,
        ...(e.keyRef === undefined ? {} : { keyRef: e.keyRef }),
      };
      if (e.otherDeployment || e.state !== 'Enabled') return facts;
      return {
        ...facts,
        publicKey: new Uint8Array(e.pair.publicKey.export({ format: 'der', type: 'spki' })),
      };
    });
  }

  /** Every `ensureReplicas` call, in order (not a port method). */
  readonly replicated: string[] = [];
  /** The `regions` (serving set) each multi-region call named, by call: `ensureReplicas:<id>` etc. */
  readonly regionsOf = new Map<string, readonly string[] | undefined>();

  ensureReplicas(vaultKeyId: string, regions?: readonly string[]): Promise<void> {
    return this.faults.run('vault.ensureReplicas', () => {
      this.#entry(vaultKeyId);
      this.replicated.push(vaultKeyId);
      this.regionsOf.set(`ensureReplicas:${vaultKeyId}`, regions);
    });
  }

  createKey(input: { keyRef: string; alg: Algorithm }): Promise<{ vaultKeyId: string }> {
    return this.faults.run('vault.createKey', () => ({ vaultKeyId: this.#create(input.keyRef, input.alg) }));
  }

  getPublicJwk(vaultKeyId: string, alg: Algorithm): Promise<PublicJwk> {
    return this.faults.run('vault.getPublicJwk', async () => {
      const e = this.#usable(vaultKeyId, alg);
      const jwk = e.pair.publicKey.export({ format: 'jwk' }) as Record<string, string>;
      const kid = await calculateJwkThumbprint(jwk as Parameters<typeof calculateJwkThumbprint>[0], 'sha256');
      if (jwk.kty === 'RSA') return { kty: 'RSA', kid, use: 'sig', alg, n: String(jwk.n), e: String(jwk.e) };
      const crv = jwk.crv as 'P-256' | 'P-384';
      return { kty: 'EC', kid, use: 'sig', alg, crv, x: String(jwk.x), y: String(jwk.y) };
    });
  }

  listKeys(): Promise<VaultKey[]> {
    return this.faults.run('vault.listKeys', () =>
      [...this.#entries.values()]
        .filter((e) => !e.otherDeployment)
        .map((e) => ({
          vaultKeyId: e.vaultKeyId,
          ...(e.keyRef === undefined ? {} : { keyRef: e.keyRef }),
        })),
    );
  }

  disableKey(vaultKeyId: string, regions?: readonly string[]): Promise<void> {
    return this.faults.run('vault.disableKey', () => {
      this.regionsOf.set(`disableKey:${vaultKeyId}`, regions);
      const e = this.#entry(vaultKeyId);
      if (e.state === 'PendingDeletion') throw new KeyUnusableError(`${vaultKeyId} is pending deletion`);
      e.state = 'Disabled';
    });
  }

  scheduleDeletion(vaultKeyId: string, windowDays: number, regions?: readonly string[]): Promise<void> {
    return this.faults.run('vault.scheduleDeletion', () => {
      this.regionsOf.set(`scheduleDeletion:${vaultKeyId}`, regions);
      if (!Number.isInteger(windowDays) || windowDays < 7 || windowDays > 30) {
        throw new InvalidArgumentError(`PendingWindowInDays ${windowDays} is not 7–30`);
      }
      const e = this.#entry(vaultKeyId);
      if (e.state === 'PendingDeletion') return;
      e.state = 'PendingDeletion';
      e.deletionWindowDays = windowDays;
    });
  }

  sign(vaultKeyId: string, alg: Algorithm, signingInput: Uint8Array): Promise<Uint8Array> {
    return this.faults.run('vault.sign', () => {
      const key = this.#usable(vaultKeyId, alg).pair.privateKey;
      const data = Buffer.from(signingInput);
      switch (alg) {
        case 'RS256':
          return new Uint8Array(sign('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }));
        case 'PS256':
          return new Uint8Array(
            sign('sha256', data, {
              key,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
            }),
          );
        case 'ES256':
          return new Uint8Array(sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }));
        case 'ES384':
          return new Uint8Array(sign('sha384', data, { key, dsaEncoding: 'ieee-p1363' }));
      }
    });
  }

  #create(keyRef: string | undefined, alg: Algorithm): string {
    const type = KEY_TYPE[alg];
    if (!type) throw new InvalidArgumentError(`unsupported algorithm ${alg}`);
    const index = this.#cursor[type]++;
    while (POOL[type].length <= index) POOL[type].push(generate(type));
    const pair = POOL[type][index] as Pair;
    this.#seq += 1;
    const vaultKeyId = `vault-key-${String(this.#seq).padStart(4, '0')}`;
    this.#entries.set(vaultKeyId, { vaultKeyId, keyRef, alg, pair, state: 'Enabled' });
    return vaultKeyId;
  }

  #entry(vaultKeyId: string): Entry {
    const e = this.#entries.get(vaultKeyId);
    if (!e) throw new KeyNotFoundError(`no vault key ${vaultKeyId}`);
    return e;
  }

  #usable(vaultKeyId: string, alg: Algorithm): Entry {
    const e = this.#entry(vaultKeyId);
    if (e.state !== 'Enabled') throw new KeyUnusableError(`${vaultKeyId} is ${e.state}`);
    if (KEY_TYPE[e.alg] !== KEY_TYPE[alg]) throw new InvalidArgumentError(`${vaultKeyId} cannot use ${alg}`);
    return e;
  }
}

/**
 * A key record (tests' `keyRecord` fixture) backed by a real key of `vault`: created with the record's
 * keyRef tag, with the vault's own JWK and kid, so the publisher's vault proof holds for it.
 */
export async function backedRecord(
  vault: MemoryKeyVault,
  keyRef: string,
  status: KeyRecord['status'],
  extra: Partial<KeyRecord> = {},
): Promise<KeyRecord> {
  const alg = extra.alg ?? 'ES256';
  const { vaultKeyId } = await vault.createKey({ keyRef, alg });
  const publicJwk = await vault.getPublicJwk(vaultKeyId, alg);
  return keyRecord(keyRef, status, { alg, kid: publicJwk.kid, publicJwk, vaultKeyId, ...extra });
}
