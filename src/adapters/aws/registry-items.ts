/**
 * The registry's item layout (design §4, refined) and the strict conversion between items and the
 * domain model. Everything lives in one partition, `pk = REGISTRY`, so one strongly consistent Query
 * reads the whole registry:
 *
 * - `sk = STATE`: RegistryState, plus `changedBy`/`reason` of the last commit.
 * - `sk = KEY#<keyRef>`: one KeyRecord. The keyRef is the identity from intent to deletion, so an item
 *   never changes its key when the kid becomes known; `kid` is an attribute. `registryVersion` records
 *   the commit that last wrote the item (markPublished leaves it alone: it changes no registry
 *   version), so the events consumer can report it from the stream image alone.
 *
 * Instants are numbers (epoch ms); `publicJwk` is a map. Reading validates every field: a corrupt or
 * hand-edited item raises MalformedRecordError instead of reaching the JWKS renderer, and a public JWK
 * carrying any member beyond the public ones (a private `d`, say) is rejected, never passed on.
 * @see https://www.rfc-editor.org/rfc/rfc7517#section-4
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue as LambdaAttributeValue } from 'aws-lambda';
import { TABLE } from '../../constants.ts';
import {
  ALGORITHMS,
  type Algorithm,
  KEY_STATUSES,
  type KeyRecord,
  type KeyStatus,
  type PublicJwk,
  type RegistryState,
} from '../../core/types.ts';
import { MalformedRecordError } from '../../errors.ts';

export const STATE_KEY = { pk: TABLE.REGISTRY_PARTITION, sk: TABLE.STATE_SORT_KEY } as const;

export const keyItemKey = (keyRef: string) =>
  ({ pk: TABLE.REGISTRY_PARTITION, sk: `${TABLE.KEY_SORT_PREFIX}${keyRef}` }) as const;

/** A stream record's `Keys` (or an item) belongs to a key item of the registry. */
export function isKeyItem(keys: Readonly<Record<string, LambdaAttributeValue | undefined>>): boolean {
  return keys.pk?.S === TABLE.REGISTRY_PARTITION && (keys.sk?.S ?? '').startsWith(TABLE.KEY_SORT_PREFIX);
}

/** A stream record's `Keys` (or an item) is the STATE item. */
export function isStateItem(keys: Readonly<Record<string, LambdaAttributeValue | undefined>>): boolean {
  return keys.pk?.S === TABLE.REGISTRY_PARTITION && keys.sk?.S === TABLE.STATE_SORT_KEY;
}

export type Item = Record<string, unknown>;

export const fail = (what: string): never => {
  throw new MalformedRecordError(`registry item: ${what}`);
};

export function str(item: Item, name: string): string;
export function str(item: Item, name: string, optional: true): string | undefined;
export function str(item: Item, name: string, optional = false): string | undefined {
  const v = item[name];
  if (v === undefined && optional) return undefined;
  return typeof v === 'string' && v.length > 0 ? v : fail(`${name} is not a non-empty string`);
}

export function num(item: Item, name: string): number;
export function num(item: Item, name: string, optional: true): number | undefined;
export function num(item: Item, name: string, optional = false): number | undefined {
  const v = item[name];
  if (v === undefined && optional) return undefined;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(`${name} is not an instant`);
}

function oneOf<T extends string>(item: Item, name: string, allowed: readonly T[]): T {
  const v = item[name];
  return allowed.includes(v as T) ? (v as T) : fail(`${name} ${JSON.stringify(v)} is not one of ${allowed}`);
}

const JWK_MEMBERS = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'] } as const;

/** Rebuilds the JWK from exactly its public members; anything else makes the item malformed. */
function publicJwkFrom(v: unknown, maybeKid: string | undefined, alg: Algorithm): PublicJwk {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('publicJwk is not a map');
  const kid = maybeKid ?? fail('publicJwk on a key without kid');
  const jwk = v as Item;
  const kty = oneOf(jwk, 'kty', ['RSA', 'EC'] as const);
  const allowed = new Set<string>(['kty', 'kid', 'use', 'alg', ...JWK_MEMBERS[kty]]);
  const extra = Object.keys(jwk).filter((m) => !allowed.has(m));
  if (extra.length > 0) fail(`publicJwk has members beyond the public key: ${extra.join(',')}`);
  if (jwk.kid !== kid) fail('publicJwk.kid differs from kid');
  if (jwk.use !== 'sig') fail('publicJwk.use is not sig');
  if (jwk.alg !== alg) fail('publicJwk.alg differs from alg');
  if (kty === 'RSA') return { kty, kid, use: 'sig', alg, n: str(jwk, 'n'), e: str(jwk, 'e') };
  const crv = oneOf(jwk, 'crv', ['P-256', 'P-384'] as const);
  return { kty, kid, use: 'sig', alg, crv, x: str(jwk, 'x'), y: str(jwk, 'y') };
}

/** Statuses whose key is in the JWKS: these must carry everything the renderer and signer need. */
const PUBLISHED: ReadonlySet<KeyStatus> = new Set(['PENDING', 'ACTIVE', 'RETIRED']);

/** A key item (already unmarshalled) → KeyRecord, or MalformedRecordError. */
export function keyRecordFromItem(item: Item): KeyRecord {
  const keyRef = str(item, 'keyRef');
  if (item.sk !== undefined && item.sk !== keyItemKey(keyRef).sk) fail(`sk does not match keyRef ${keyRef}`);
  const alg = oneOf(item, 'alg', ALGORITHMS);
  const status = oneOf(item, 'status', KEY_STATUSES);
  const kid = str(item, 'kid', true);
  const version = num(item, 'version');
  if (version < 1) fail('version is below 1');
  const publicJwk = item.publicJwk === undefined ? undefined : publicJwkFrom(item.publicJwk, kid, alg);
  const vaultKeyId = str(item, 'vaultKeyId', true);
  if (PUBLISHED.has(status) && (!kid || !publicJwk || !vaultKeyId)) {
    fail(`${status} key ${keyRef} lacks kid, publicJwk or vaultKeyId`);
  }
  const record: KeyRecord = {
    keyRef,
    kid,
    alg,
    status,
    version,
    vaultKeyId,
    publicJwk,
    createdAt: num(item, 'createdAt'),
    publishedAt: num(item, 'publishedAt', true),
    activatedAt: num(item, 'activatedAt', true),
    periodEndsAt: num(item, 'periodEndsAt', true),
    retiredAt: num(item, 'retiredAt', true),
    disabledAt: num(item, 'disabledAt', true),
    expiredAt: num(item, 'expiredAt', true),
    revokedAt: num(item, 'revokedAt', true),
    abandonedAt: num(item, 'abandonedAt', true),
    deletionScheduledAt: num(item, 'deletionScheduledAt', true),
    changedBy: str(item, 'changedBy'),
    reason: typeof item.reason === 'string' ? item.reason : fail('reason is not a string'),
  };
  return dropUndefined(record);
}

/** The STATE item (already unmarshalled) → RegistryState, or MalformedRecordError. */
export function registryStateFromItem(item: Item): RegistryState {
  const registryVersion = num(item, 'registryVersion');
  const activeAlg = item.activeAlg === undefined ? undefined : oneOf(item, 'activeAlg', ALGORITHMS);
  return dropUndefined({
    registryVersion,
    activeKeyRef: str(item, 'activeKeyRef', true),
    activeKid: str(item, 'activeKid', true),
    activeAlg,
    activeVaultKeyId: str(item, 'activeVaultKeyId', true),
    pendingKeyRef: str(item, 'pendingKeyRef', true),
    pendingKid: str(item, 'pendingKid', true),
    bootstrappedAt: num(item, 'bootstrappedAt', true),
    updatedAt: num(item, 'updatedAt', true),
    primaryRegion: str(item, 'primaryRegion', true),
    epoch: num(item, 'epoch', true),
  });
}

type Image = Record<string, LambdaAttributeValue>;

/**
 * Lambda delivers stream images as AttributeValue maps with binary as base64 strings; the registry
 * stores no binary, so the SDK's unmarshall reads them as they are.
 */
function fromImage(image: Image): Item {
  try {
    return unmarshall(image as Parameters<typeof unmarshall>[0]);
  } catch (err) {
    // e.g. a number beyond 2^53, which unmarshall refuses to round.
    throw new MalformedRecordError('registry item: not a valid attribute map', { cause: err });
  }
}

/** A stream record's NewImage/OldImage of a key item → KeyRecord (MalformedRecordError if corrupt). */
export const keyRecordFromImage = (image: Image): KeyRecord => keyRecordFromItem(fromImage(image));

/** A stream record's NewImage/OldImage of the STATE item → RegistryState. */
export const registryStateFromImage = (image: Image): RegistryState =>
  registryStateFromItem(fromImage(image));

/** The registry version of the commit that last wrote this item (key or STATE), when recorded. */
export function registryVersionFromImage(image: Image): number | undefined {
  return num(fromImage(image), 'registryVersion', true);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
