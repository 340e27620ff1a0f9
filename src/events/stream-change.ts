/**
 * One DynamoDB Stream record (as Lambda delivers it) → a KeyChange, null for a record the events
 * consumer does not audit (the STATE item, client items, anything outside the registry partition),
 * or MalformedRecordError. Images are read with the registry's own strict item reader, so an image the
 * registry would refuse (a private JWK member, a missing field) is refused here too, never audited.
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_StreamRecord.html
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { isKeyItem, keyRecordFromImage, registryVersionFromImage } from '../adapters/aws/registry-items.ts';
import { TABLE } from '../constants.ts';
import { SAFE_SEGMENT } from '../core/audit.ts';
import type { KeyChange } from '../core/events.ts';
import { MalformedRecordError } from '../errors.ts';

const SEQUENCE = /^\d{1,40}$/;

export function keyChangeFromRecord(record: DynamoDBRecord): KeyChange | null {
  const id = record.eventID ?? '(no eventID)';
  const bad = (what: string): never => {
    throw new MalformedRecordError(`stream record ${id}: ${what}`);
  };
  const d = record.dynamodb ?? bad('no dynamodb member');
  const keys = d.Keys ?? bad('no Keys');
  const sk = keys[TABLE.SORT_KEY]?.S;
  if (typeof keys[TABLE.PARTITION_KEY]?.S !== 'string' || typeof sk !== 'string') {
    return bad('Keys lack the table key');
  }
  if (!isKeyItem(keys)) return null;

  const eventName = record.eventName;
  if (eventName !== 'INSERT' && eventName !== 'MODIFY' && eventName !== 'REMOVE') {
    return bad('unknown eventName');
  }
  const eventId = record.eventID ?? bad('no eventID');
  if (!SAFE_SEGMENT.test(eventId)) return bad('eventID is not a plain token');
  const sequenceNumber = d.SequenceNumber ?? bad('no SequenceNumber');
  if (!SEQUENCE.test(sequenceNumber)) return bad('SequenceNumber is not a decimal string');
  const created = d.ApproximateCreationDateTime;
  if (typeof created !== 'number' || !Number.isFinite(created) || created < 0) {
    // Never substitute "now": the creation date is part of the audit object key, and a replay must
    // map to the same key.
    return bad('no ApproximateCreationDateTime');
  }

  const wantOld = eventName !== 'INSERT';
  const wantNew = eventName !== 'REMOVE';
  if (wantOld !== (d.OldImage !== undefined) || wantNew !== (d.NewImage !== undefined)) {
    return bad(`${eventName} without the images a NEW_AND_OLD_IMAGES stream carries`);
  }
  const oldRecord = d.OldImage ? keyRecordFromImage(d.OldImage) : null;
  const newRecord = d.NewImage ? keyRecordFromImage(d.NewImage) : null;
  const keyRef = sk.slice(TABLE.KEY_SORT_PREFIX.length);
  if ([oldRecord, newRecord].some((r) => r && r.keyRef !== keyRef))
    return bad('image keyRef differs from Keys');
  if (!SAFE_SEGMENT.test(keyRef)) return bad('keyRef is not a plain token');
  const registryVersion = registryVersionFromImage(
    (d.NewImage ?? d.OldImage) as NonNullable<typeof d.NewImage>,
  );

  return {
    eventId,
    eventName,
    sequenceNumber,
    approximateCreationTime: Math.round(created * 1000),
    keyRef,
    oldRecord,
    newRecord,
    ...(registryVersion !== undefined && { registryVersion }),
  };
}
