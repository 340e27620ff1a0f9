/**
 * Reading audit records back and checking their chains. Pure (no I/O): `readAudit` in audit-log.ts
 * fetches the objects, `jwks audit --verify` passes them here.
 *
 * Each record is checked on its own — its object key and its bytes must be exactly what the writer
 * would produce from the images it holds (so an edited event, a moved object or an edit that breaks
 * the canonical form shows) — and against the previous record of the same key: the SHA-256 it
 * carries must be that record's hash, the sequence numbers must ascend, and the item versions must
 * connect (old image of one = new image of the previous), so a removed, altered or reordered record
 * is reported where the chain first breaks.
 */
import {
  type AuditRecord,
  auditObjectKey,
  buildAuditRecord,
  type PublicKeyImage,
  padSequenceNumber,
  parseAuditObjectKey,
  serializeAuditRecord,
  sha256Hex,
} from '../core/audit.ts';
import { type KeyChange, lifecycleEventOf } from '../core/events.ts';
import type { KeyRecord } from '../core/types.ts';

/** One stored audit object: its key and its bytes exactly as stored. */
export interface StoredAuditObject {
  readonly key: string;
  readonly body: Uint8Array;
}

export type AuditBreakKind = 'MALFORMED' | 'ALTERED' | 'MISSING' | 'REORDERED';

export interface AuditBreak {
  readonly kind: AuditBreakKind;
  readonly keyRef: string | null;
  /** The object where the break shows (for ALTERED: the record whose bytes no longer match). */
  readonly objectKey: string;
  readonly detail: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly chains: number;
  readonly records: number;
  readonly firstBreak: AuditBreak | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isImage = (v: unknown): boolean => v === null || (isObject(v) && Number.isSafeInteger(v.version));

/** The bytes as an audit record, or null when they are not one (shape only; consistency is checked below). */
export function parseAuditRecord(body: Uint8Array): AuditRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return null;
  }
  if (!isObject(value)) return null;
  const v = value;
  const ok =
    typeof v.eventId === 'string' &&
    typeof v.keyRef === 'string' &&
    typeof v.sequenceNumber === 'string' &&
    /^\d{1,40}$/.test(v.sequenceNumber) &&
    (v.eventName === 'INSERT' || v.eventName === 'MODIFY' || v.eventName === 'REMOVE') &&
    typeof v.approximateCreationTime === 'string' &&
    Number.isFinite(Date.parse(v.approximateCreationTime)) &&
    (v.previousRecordSha256 === null ||
      (typeof v.previousRecordSha256 === 'string' && HEX64.test(v.previousRecordSha256))) &&
    (v.event === null || isObject(v.event)) &&
    (v.registryVersion === null || Number.isSafeInteger(v.registryVersion)) &&
    isImage(v.oldImage) &&
    isImage(v.newImage) &&
    (v.oldImage !== null || v.newImage !== null);
  return ok ? (value as unknown as AuditRecord) : null;
}

/** The key change a record was written from, rebuilt from the record itself. */
function changeOf(record: AuditRecord): KeyChange {
  return {
    eventId: record.eventId,
    eventName: record.eventName,
    sequenceNumber: record.sequenceNumber,
    approximateCreationTime: Date.parse(record.approximateCreationTime),
    keyRef: record.keyRef,
    oldRecord: record.oldImage as KeyRecord | null,
    newRecord: record.newImage as KeyRecord | null,
    ...(record.registryVersion !== null && { registryVersion: record.registryVersion }),
  };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

/** Why a record is not what the writer would have produced from its own contents, or null. */
function selfCheck(object: StoredAuditObject, record: AuditRecord): string | null {
  let change: KeyChange;
  let expectedKey: string;
  let expectedBytes: Uint8Array;
  try {
    change = changeOf(record);
    expectedKey = auditObjectKey(change);
    const event = lifecycleEventOf(change, record.event?.jwksUri ?? '');
    expectedBytes = serializeAuditRecord(buildAuditRecord(change, event, record.previousRecordSha256));
  } catch {
    return 'the record cannot be rebuilt from its own contents';
  }
  if (expectedKey !== object.key) return `the record belongs under ${expectedKey}`;
  if (!sameBytes(expectedBytes, object.body)) {
    return 'the bytes differ from the canonical record rebuilt from its images (edited event or fields)';
  }
  return null;
}

const versionAfter = (image: PublicKeyImage | null): number | null => image?.version ?? null;

interface ChainLink {
  readonly object: StoredAuditObject;
  readonly record: AuditRecord;
  readonly sha256: string;
}

/**
 * Why `cur` does not follow `prev` in the key's chain, or null. `comesLater(hash)`: a record with that
 * hash is further on in the input (so `cur` was given before its predecessor).
 */
function linkCheck(
  prev: ChainLink | undefined,
  cur: ChainLink,
  comesLater: (sha256: string) => boolean,
): AuditBreak | null {
  const at = (kind: AuditBreakKind, where: ChainLink, detail: string): AuditBreak => ({
    kind,
    keyRef: cur.record.keyRef,
    objectKey: where.object.key,
    detail,
  });
  const recorded = cur.record.previousRecordSha256;
  if (recorded !== null && recorded !== prev?.sha256 && comesLater(recorded)) {
    return at('REORDERED', cur, 'its predecessor comes after it');
  }
  if (!prev) {
    return recorded === null
      ? null
      : at('MISSING', cur, 'the first record found refers to an earlier record that is not there');
  }
  if (padSequenceNumber(cur.record.sequenceNumber) <= padSequenceNumber(prev.record.sequenceNumber)) {
    return at('REORDERED', cur, `sequence number does not ascend after ${prev.object.key}`);
  }
  const before = cur.record.oldImage?.version ?? null;
  const after = versionAfter(prev.record.newImage);
  const gap = before !== null && after !== null && before !== after;
  if (recorded !== prev.sha256) {
    if (gap) return at('MISSING', cur, `item versions jump from ${after} to ${before}: records were removed`);
    return at('ALTERED', prev, `its SHA-256 is not the one ${cur.object.key} recorded`);
  }
  if (gap) {
    // Linked, yet versions do not connect: the stream lost records before they were audited.
    return at(
      'MISSING',
      cur,
      `item versions jump from ${after} to ${before}: stream records were never audited`,
    );
  }
  return null;
}

/**
 * Checks every chain in `objects` (any number of keys; each key's records in stream order, as
 * `readAudit` returns them) and reports the first break in input order.
 */
export function verifyAuditChain(objects: readonly StoredAuditObject[]): AuditVerification {
  const lastOf = new Map<string, ChainLink>();
  const hashes = objects.map((o) => sha256Hex(o.body));
  const lastIndexOf = new Map(hashes.map((h, i) => [h, i]));
  let firstBreak: AuditBreak | null = null;
  for (const [index, object] of objects.entries()) {
    const record = parseAuditRecord(object.body);
    if (!record) {
      const keyRef = parseAuditObjectKey(object.key)?.keyRef ?? null;
      firstBreak = { kind: 'MALFORMED', keyRef, objectKey: object.key, detail: 'not an audit record' };
      break;
    }
    const problem = selfCheck(object, record);
    if (problem) {
      firstBreak = { kind: 'ALTERED', keyRef: record.keyRef, objectKey: object.key, detail: problem };
      break;
    }
    const link: ChainLink = { object, record, sha256: hashes[index] as string };
    firstBreak = linkCheck(lastOf.get(record.keyRef), link, (h) => (lastIndexOf.get(h) ?? -1) > index);
    if (firstBreak) break;
    lastOf.set(record.keyRef, link);
  }
  const keyRefs = new Set(objects.map((o) => parseAuditObjectKey(o.key)?.keyRef ?? o.key));
  return { ok: firstBreak === null, chains: keyRefs.size, records: objects.length, firstBreak };
}
