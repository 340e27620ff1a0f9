/**
 * Design §11, "only vault keys are published": the registry says which keys exist, the vault proves
 * it. A record is published (or signed with) only when the vault's own public key for its
 * `vaultKeyId` — a key carrying this deployment's tag and the record's keyRef — renders to exactly the
 * record's JWK and kid. A write to the table alone (a foreign JWK, a tampered `publicJwk`, another
 * deployment's key) can then never put a key in front of verifiers.
 *
 * KMS stops giving a key's public half once the key is disabled, which a RETIRED key is for most of its
 * retention. Such a record is proven by publication instead: its exact JWK is in the JWKS the publisher
 * last wrote, and every key in that document was proven by the vault when it was first written (or
 * carried over from a document that was), so a table write cannot add a key that way either. The
 * vault still has its say: a key it reports as another deployment's, another record's, or gone is
 * never carried.
 *
 * Only the RFC 7638 required members (`kty, n, e` / `kty, crv, x, y`) and the kid are compared; a
 * record whose JWK carries anything beyond the public members fails, whatever it holds.
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3.2
 */
import { publicJwkFromKey } from './jwk.ts';
import type { KeyRecord, KeyStatus } from './types.ts';

/** What the vault says about one key (`KeyVault.describeKey`). */
export type VaultKeyFacts =
  /** No such key: never created, deleted, or not a key id at all. */
  | { readonly kind: 'absent' }
  /** The vault refused to say (KMS AccessDenied): not a key we may read, or our grant is missing. */
  | { readonly kind: 'denied' }
  | {
      readonly kind: 'present';
      /** The key carries this deployment's tag. */
      readonly ours: boolean;
      /** Its keyRef tag, when it has one. */
      readonly keyRef?: string;
      /** SPKI DER of its public key; absent while the vault will not give it (disabled, pending deletion). */
      readonly publicKey?: Uint8Array;
    };

/** Why a record is not proven. Stable names: logs, `jwks status` and tests use them. */
export type ProofFailure =
  /** The record has no vaultKeyId or publicJwk, or a JWK that is not exactly a public key. */
  | 'MALFORMED_RECORD'
  /** The vault has no key under the record's vaultKeyId. */
  | 'NOT_IN_VAULT'
  /** The key is not tagged for this deployment. */
  | 'NOT_THIS_DEPLOYMENT'
  /** The key was created for another record (its keyRef tag differs). */
  | 'OTHER_KEY_REF'
  /** The vault's public key renders to another JWK or kid than the record's. */
  | 'KEY_MISMATCH'
  /** The vault does not give the public key now, and no earlier publication carries the record's JWK. */
  | 'UNPROVABLE';

export type Proof =
  | { readonly verified: true; readonly by: 'vault' | 'publication' }
  | { readonly verified: false; readonly failure: ProofFailure };

/** The states whose keys are published (design §3 table); only these need a proof. */
export const PUBLISHED_STATES: ReadonlySet<KeyStatus> = new Set(['PENDING', 'ACTIVE', 'RETIRED']);

const REQUIRED = { RSA: ['kty', 'n', 'e'], EC: ['kty', 'crv', 'x', 'y'] } as const;

type Members = Readonly<Record<string, unknown>>;

/**
 * The record's JWK as a plain member map when it is exactly a public signing key for the record's
 * alg and kid: required members, `kid`, and optionally `use: sig` and `alg` — nothing else.
 */
function recordJwk(record: KeyRecord): Members | undefined {
  const jwk = record.publicJwk as Members | undefined;
  if (!record.vaultKeyId || !jwk || typeof jwk !== 'object') return undefined;
  const required = jwk.kty === 'RSA' || jwk.kty === 'EC' ? REQUIRED[jwk.kty] : undefined;
  if (!required) return undefined;
  const allowed = new Set<string>([...required, 'kid', 'use', 'alg']);
  if (Object.keys(jwk).some((m) => !allowed.has(m))) return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.alg !== undefined && jwk.alg !== record.alg) return undefined;
  if (typeof jwk.kid !== 'string' || (record.kid !== undefined && record.kid !== jwk.kid)) return undefined;
  return jwk;
}

/** Same kid and same required members (RFC 7638 §3.2), nothing else looked at. */
export function sameKey(a: Members, b: Members): boolean {
  const required = a.kty === 'RSA' || a.kty === 'EC' ? REQUIRED[a.kty] : undefined;
  if (!required || typeof a.kid !== 'string' || a.kid !== b.kid) return false;
  return required.every((m) => typeof a[m] === 'string' && a[m] === b[m]);
}

/**
 * The vault's verdict on one record. `UNPROVABLE` means the vault neither confirms nor contradicts
 * (it will not give the public key now): `provenByPublication` may still prove it.
 */
export async function proveByVault(record: KeyRecord, facts: VaultKeyFacts): Promise<Proof> {
  const jwk = recordJwk(record);
  if (!jwk) return { verified: false, failure: 'MALFORMED_RECORD' };
  if (facts.kind === 'absent') return { verified: false, failure: 'NOT_IN_VAULT' };
  if (facts.kind === 'denied') return { verified: false, failure: 'UNPROVABLE' };
  if (!facts.ours) return { verified: false, failure: 'NOT_THIS_DEPLOYMENT' };
  if (facts.keyRef !== record.keyRef) return { verified: false, failure: 'OTHER_KEY_REF' };
  if (!facts.publicKey) return { verified: false, failure: 'UNPROVABLE' };
  let vaultJwk: Members;
  try {
    vaultJwk = await publicJwkFromKey(facts.publicKey, record.alg);
  } catch {
    // Not a key of the record's algorithm (type, curve, size): not the record's key either.
    return { verified: false, failure: 'KEY_MISMATCH' };
  }
  return sameKey(vaultJwk, jwk)
    ? { verified: true, by: 'vault' }
    : { verified: false, failure: 'KEY_MISMATCH' };
}

/**
 * Whether the record's exact JWK is in a JWKS the publisher wrote earlier (its parsed body). Only for a
 * record the vault left `UNPROVABLE`; anything unreadable proves nothing.
 */
export function provenByPublication(record: KeyRecord, publishedJwks: unknown): boolean {
  const jwk = recordJwk(record);
  const keys = (publishedJwks as { keys?: unknown } | null | undefined)?.keys;
  if (!jwk || !Array.isArray(keys)) return false;
  return keys.some((k) => typeof k === 'object' && k !== null && sameKey(jwk, k as Members));
}
