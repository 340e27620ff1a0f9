/**
 * Lifecycle events (design §6), derived from one stream record of a key item: old image → new image.
 * Pure: the stream record arrives here already parsed into a KeyChange (src/events/stream-change.ts).
 *
 * An event is a *status* transition. Writes that change no status (the publisher's `publishedAt`
 * mark, `disabledAt`, `deletionScheduledAt`, an operator's `periodEndsAt`) are still audited, but
 * announce nothing. The event carries the public `kid` and nothing else about the key: no JWK, no
 * vault key id, no secret.
 */
import type { Algorithm, KeyRecord, KeyStatus } from './types.ts';

/** Every event type a subscriber can filter on (message attribute `type`). */
export const EVENT_TYPES = [
  'key.pending',
  'key.activated',
  'key.retired',
  'key.expired',
  'key.revoked',
  /** Emitted by the publisher after a changed JWKS write, not derived here. */
  'jwks.published',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type KeyEventType = Exclude<EventType, 'jwks.published'>;

/** The status a key enters → the event announcing it. CREATING and ABANDONED are not announced. */
export const EVENT_TYPE_BY_STATUS: Readonly<Partial<Record<KeyStatus, KeyEventType>>> = {
  PENDING: 'key.pending',
  ACTIVE: 'key.activated',
  RETIRED: 'key.retired',
  EXPIRED: 'key.expired',
  REVOKED: 'key.revoked',
};

/** What every event on the bus has: the de-duplication id and the filterable type. */
export interface BusEvent {
  /** Stable per stream record: a retried delivery carries the same id (subscribers de-duplicate on it). */
  readonly id: string;
  readonly type: EventType;
}

/** The SNS message body for a key lifecycle change. Exactly these members (design §6). */
export interface KeyLifecycleEvent extends BusEvent {
  readonly type: KeyEventType;
  /** RFC 7638 thumbprint; null only for a key that never had a public key (an intent). */
  readonly kid: string | null;
  /** The key item's version after the change (per-key order: higher is later). */
  readonly version: number;
  readonly alg: Algorithm;
  readonly status: KeyStatus;
  /** null when the item was created in this status. */
  readonly previousStatus: KeyStatus | null;
  /** When the transition happened (RFC 3339, UTC). */
  readonly at: string;
  readonly jwksUri: string;
  /** The registry commit that made the change, when the item records it. */
  readonly registryVersion?: number;
  readonly changedBy: string;
  readonly reason: string;
}

/** One stream record of a key item, parsed and validated. */
export interface KeyChange {
  /** The stream record's `eventID`: unique per record, identical on every redelivery of it. */
  readonly eventId: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** Decimal string (21–40 digits); increases per item in stream order. */
  readonly sequenceNumber: string;
  /** `ApproximateCreationDateTime`, epoch milliseconds (the stream gives whole seconds). */
  readonly approximateCreationTime: number;
  readonly keyRef: string;
  /** null on INSERT. */
  readonly oldRecord: KeyRecord | null;
  /** null on REMOVE. */
  readonly newRecord: KeyRecord | null;
  /** `registryVersion` of the commit that wrote the new image (old image for REMOVE), when recorded. */
  readonly registryVersion?: number;
}

/** The instant a status was entered, from the field the registry sets with it. PENDING has none. */
function enteredAt(record: KeyRecord): number | undefined {
  switch (record.status) {
    case 'ACTIVE':
      return record.activatedAt;
    case 'RETIRED':
      return record.retiredAt;
    case 'EXPIRED':
      return record.expiredAt;
    case 'REVOKED':
      return record.revokedAt;
    default:
      return undefined;
  }
}

/**
 * The lifecycle event a key change announces, or null when the status did not change (or changed to
 * a state nobody subscribes to). The `id` is the stream `eventID`, so the event and its audit record
 * share one id and a replayed record yields the same event.
 */
export function lifecycleEventOf(change: KeyChange, jwksUri: string): KeyLifecycleEvent | null {
  const next = change.newRecord;
  if (!next) return null;
  const previousStatus = change.oldRecord?.status ?? null;
  if (previousStatus === next.status) return null;
  const type = EVENT_TYPE_BY_STATUS[next.status];
  if (!type) return null;
  return {
    id: change.eventId,
    type,
    kid: next.kid ?? change.oldRecord?.kid ?? null,
    version: next.version,
    alg: next.alg,
    status: next.status,
    previousStatus,
    at: new Date(enteredAt(next) ?? change.approximateCreationTime).toISOString(),
    jwksUri,
    ...(change.registryVersion !== undefined && { registryVersion: change.registryVersion }),
    changedBy: next.changedBy,
    reason: next.reason,
  };
}

/**
 * `jwks.published`: the publisher wrote a JWKS with different bytes (design §6). Its id names the
 * content (`<registryVersion>-<sha256>`), so a repeated notification of the same document carries the
 * same id and subscribers de-duplicate it like any other event.
 */
export interface JwksPublishedEvent extends BusEvent {
  readonly type: 'jwks.published';
  readonly at: string;
  readonly jwksUri: string;
  readonly registryVersion: number;
  readonly sha256: string;
  readonly kids: readonly string[];
  readonly changedBy: 'publisher';
  readonly reason: string;
}

export function jwksPublishedEvent(input: {
  readonly registryVersion: number;
  readonly sha256: string;
  readonly kids: readonly string[];
  readonly at: number;
  readonly jwksUri: string;
}): JwksPublishedEvent {
  return {
    id: `jwks-${input.registryVersion}-${input.sha256}`,
    type: 'jwks.published',
    at: new Date(input.at).toISOString(),
    jwksUri: input.jwksUri,
    registryVersion: input.registryVersion,
    sha256: input.sha256,
    kids: [...input.kids],
    changedBy: 'publisher',
    reason: 'the JWKS changed and the CDN was invalidated',
  };
}
