/**
 * The audit record (design §6): one immutable JSON document per stream record of a key item, in a
 * hash chain per key. Pure: the object layout, the public projection of an image, the canonical bytes.
 * Writing and reading live in src/events/audit-log.ts, checking in src/events/audit-chain.ts.
 *
 * Object keys are `audit/<keyRef>/<sequence number, 40 digits>_<yyyy-mm-dd>_<eventId>.json`. Key first,
 * not date first (the design's "keyed by date and event id"): the chain is per key, so the writer finds
 * the previous link by listing ONE prefix and a reader lists a key's chain in stream order; sequence
 * numbers are decimal strings of 21–40 digits, so they are zero-padded to 40 to sort as numbers. Every
 * part is fixed by the stream record, so a redelivered record maps to the same key (replay detection).
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.ts';
import type { KeyChange, KeyLifecycleEvent } from './events.ts';
import type { KeyRecord } from './types.ts';

export const AUDIT_PREFIX = 'audit/';
/** DynamoDB Streams sequence numbers have at most 40 digits. */
export const SEQUENCE_DIGITS = 40;

/** keyRefs and stream event ids become path segments: no `/`, nothing a shell or URL must escape. */
export const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SEQUENCE = /^\d{1,40}$/;
const OBJECT_NAME = /^(\d{40})_(\d{4}-\d{2}-\d{2})_([A-Za-z0-9][A-Za-z0-9._-]{0,127})\.json$/;

export const auditKeyPrefix = (keyRef: string): string => `${AUDIT_PREFIX}${keyRef}/`;

export const padSequenceNumber = (sequenceNumber: string): string => {
  if (!SEQUENCE.test(sequenceNumber))
    throw new InvalidArgumentError(`${sequenceNumber} is not a sequence number`);
  return sequenceNumber.padStart(SEQUENCE_DIGITS, '0');
};

export const utcDate = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, 10);

export function auditObjectKey(change: KeyChange): string {
  if (!SAFE_SEGMENT.test(change.keyRef)) throw new InvalidArgumentError('keyRef is not a safe path segment');
  if (!SAFE_SEGMENT.test(change.eventId))
    throw new InvalidArgumentError('eventId is not a safe path segment');
  const sequence = padSequenceNumber(change.sequenceNumber);
  return `${auditKeyPrefix(change.keyRef)}${sequence}_${utcDate(change.approximateCreationTime)}_${change.eventId}.json`;
}

export interface AuditObjectKey {
  readonly keyRef: string;
  /** Zero-padded to 40 digits. */
  readonly sequence: string;
  readonly date: string;
  readonly eventId: string;
}

/** The parts of an audit object key, or null for any other key. */
export function parseAuditObjectKey(key: string): AuditObjectKey | null {
  if (!key.startsWith(AUDIT_PREFIX)) return null;
  const [keyRef, name, ...rest] = key.slice(AUDIT_PREFIX.length).split('/');
  if (rest.length > 0 || keyRef === undefined || name === undefined || !SAFE_SEGMENT.test(keyRef))
    return null;
  const m = OBJECT_NAME.exec(name);
  if (!m) return null;
  return { keyRef, sequence: m[1] as string, date: m[2] as string, eventId: m[3] as string };
}

/**
 * An image as audited: an allow-list of the KeyRecord's fields, so a field added to the item later
 * (or smuggled in) never reaches the audit bucket unreviewed. `vaultKeyId` is kept on purpose: it is
 * the KMS key ARN, not key material, and auditors need it to match CloudTrail's kms:Sign records.
 */
export type PublicKeyImage = Pick<
  KeyRecord,
  | 'keyRef'
  | 'kid'
  | 'alg'
  | 'status'
  | 'version'
  | 'vaultKeyId'
  | 'publicJwk'
  | 'createdAt'
  | 'publishedAt'
  | 'activatedAt'
  | 'periodEndsAt'
  | 'retiredAt'
  | 'disabledAt'
  | 'expiredAt'
  | 'revokedAt'
  | 'abandonedAt'
  | 'deletionScheduledAt'
  | 'changedBy'
  | 'reason'
>;

const IMAGE_FIELDS = [
  'keyRef',
  'kid',
  'alg',
  'status',
  'version',
  'vaultKeyId',
  'publicJwk',
  'createdAt',
  'publishedAt',
  'activatedAt',
  'periodEndsAt',
  'retiredAt',
  'disabledAt',
  'expiredAt',
  'revokedAt',
  'abandonedAt',
  'deletionScheduledAt',
  'changedBy',
  'reason',
] as const satisfies readonly (keyof PublicKeyImage)[];

/** RFC 7517 §4 / RFC 7518 §6: the members of a public JWK; private ones (`d`, `p`, …) never pass. */
const JWK_MEMBERS = {
  RSA: ['kty', 'kid', 'use', 'alg', 'n', 'e'],
  EC: ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y'],
};

const pick = (source: object, names: readonly string[]): Record<string, unknown> =>
  Object.fromEntries(
    names.map((n) => [n, (source as Record<string, unknown>)[n]]).filter(([, v]) => v !== undefined),
  );

export function publicImage(record: KeyRecord): PublicKeyImage {
  const image = pick(record, IMAGE_FIELDS);
  if (record.publicJwk) image.publicJwk = pick(record.publicJwk, JWK_MEMBERS[record.publicJwk.kty] ?? []);
  return image as unknown as PublicKeyImage;
}

export interface AuditRecord {
  /** The lifecycle event this record announced, or null for a write that changed no status. */
  readonly event: KeyLifecycleEvent | null;
  readonly eventId: string;
  readonly eventName: KeyChange['eventName'];
  readonly keyRef: string;
  readonly kid: string | null;
  readonly sequenceNumber: string;
  /** The stream record's approximate creation time (RFC 3339, UTC; whole seconds). */
  readonly approximateCreationTime: string;
  readonly registryVersion: number | null;
  readonly oldImage: PublicKeyImage | null;
  readonly newImage: PublicKeyImage | null;
  readonly changedBy: string;
  readonly reason: string;
  /** SHA-256 (hex) of the stored bytes of this key's previous audit record; null for the first. */
  readonly previousRecordSha256: string | null;
}

export function buildAuditRecord(
  change: KeyChange,
  event: KeyLifecycleEvent | null,
  previousRecordSha256: string | null,
): AuditRecord {
  const latest = (change.newRecord ?? change.oldRecord) as KeyRecord;
  return {
    event,
    eventId: change.eventId,
    eventName: change.eventName,
    keyRef: change.keyRef,
    kid: change.newRecord?.kid ?? change.oldRecord?.kid ?? null,
    sequenceNumber: change.sequenceNumber,
    approximateCreationTime: new Date(change.approximateCreationTime).toISOString(),
    registryVersion: change.registryVersion ?? null,
    oldImage: change.oldRecord ? publicImage(change.oldRecord) : null,
    newImage: change.newRecord ? publicImage(change.newRecord) : null,
    changedBy: latest.changedBy,
    reason: latest.reason,
    previousRecordSha256,
  };
}

/**
 * Canonical JSON: members sorted by name at every level, no whitespace, `undefined` members dropped.
 * For the values an audit record holds (strings, safe integers, booleans, null, arrays, plain objects)
 * this is the RFC 8785 (JCS) serialization — JCS differs from JSON.stringify only in member order and
 * in number formatting, and integers format identically — so no dependency is needed; anything else
 * (a float, a Date, a bigint) is refused rather than serialized ambiguously.
 * @see https://www.rfc-editor.org/rfc/rfc8785
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${value} is not a safe integer`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const members = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
    return `{${members.join(',')}}`;
  }
  throw new InvalidArgumentError(`cannot serialize a ${typeof value} canonically`);
}

export const serializeAuditRecord = (record: AuditRecord): Uint8Array =>
  new TextEncoder().encode(canonicalJson(record));

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
export const sha256Base64 = (bytes: Uint8Array): string =>
  createHash('sha256').update(bytes).digest('base64');
