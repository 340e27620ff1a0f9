/**
 * Stream records as Lambda delivers them for the registry table (NEW_AND_OLD_IMAGES), built from key
 * records the way DynamoDbRegistry stores them (registry-items.ts layout), for the events tests.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { keyItemKey, STATE_KEY } from '../../src/adapters/aws/registry-items.ts';
import type { KeyRecord } from '../../src/core/types.ts';
import { keyRecord, T0 } from '../support/fixtures.ts';

type Image = Record<string, AttributeValue>;

export const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/jwks/stream/2030-01-01T00:00:00.000';

/** A key item's stream image; `registryVersion` is the commit that wrote it (as the registry stores it). */
export function keyImage(record: KeyRecord, registryVersion?: number): Image {
  return marshall(
    { ...record, ...keyItemKey(record.keyRef), ...(registryVersion !== undefined && { registryVersion }) },
    { removeUndefinedValues: true },
  ) as Image;
}

let counter = 0;
/** A fresh, strictly increasing 21-digit sequence number (DynamoDB's are 21–40 digits). */
export const nextSequenceNumber = (): string => String(100_000_000_000_000_000_000n + BigInt(++counter));

export interface KeyStreamRecordInput {
  readonly old?: KeyRecord;
  readonly new?: KeyRecord;
  readonly registryVersion?: number;
  readonly eventId?: string;
  readonly sequenceNumber?: string;
  /** Epoch ms (rounded down to the second, as the stream gives it). */
  readonly at?: number;
}

export function keyStreamRecord(input: KeyStreamRecordInput): DynamoDBRecord {
  const sequenceNumber = input.sequenceNumber ?? nextSequenceNumber();
  const keyRef = (input.new ?? input.old)?.keyRef ?? 'k1';
  return {
    eventID: input.eventId ?? `evt-${sequenceNumber}`,
    eventName: !input.old ? 'INSERT' : !input.new ? 'REMOVE' : 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor((input.at ?? T0) / 1000),
      Keys: marshall(keyItemKey(keyRef)) as Image,
      ...(input.old && { OldImage: keyImage(input.old, input.registryVersion) }),
      ...(input.new && { NewImage: keyImage(input.new, input.registryVersion) }),
      SequenceNumber: sequenceNumber,
      SizeBytes: 512,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: STREAM_ARN,
  };
}

export function stateStreamRecord(registryVersion: number): DynamoDBRecord {
  const sequenceNumber = nextSequenceNumber();
  return {
    eventID: `evt-${sequenceNumber}`,
    eventName: 'MODIFY',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(T0 / 1000),
      Keys: marshall(STATE_KEY) as Image,
      OldImage: marshall({ ...STATE_KEY, registryVersion: registryVersion - 1 }) as Image,
      NewImage: marshall({ ...STATE_KEY, registryVersion }) as Image,
      SequenceNumber: sequenceNumber,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    eventSourceARN: STREAM_ARN,
  };
}

/**
 * One key's life as the registry writes it: intent, completion, publication mark, activation,
 * retirement, disable mark, expiry — each write +1 version, with the instant fields the status implies.
 */
export function keyHistory(keyRef: string, start = T0): KeyRecord[] {
  const base = keyRecord(keyRef, 'PENDING');
  const steps: Array<Partial<KeyRecord> & Pick<KeyRecord, 'status'>> = [
    { status: 'CREATING' },
    { status: 'PENDING' },
    { status: 'PENDING', publishedAt: start + 2_000 },
    { status: 'ACTIVE', activatedAt: start + 3_000 },
    { status: 'RETIRED', retiredAt: start + 4_000 },
    { status: 'RETIRED', disabledAt: start + 5_000 },
    { status: 'EXPIRED', expiredAt: start + 6_000 },
  ];
  let acc: Partial<KeyRecord> = {};
  return steps.map((step, i) => {
    acc = { ...acc, ...step };
    const { kid, publicJwk, vaultKeyId, ...rest } = { ...base, ...acc, version: i + 1, createdAt: start };
    return (step.status === 'CREATING' ? rest : { ...rest, kid, publicJwk, vaultKeyId }) as KeyRecord;
  });
}

/** Stream records for consecutive writes of one key (old → new for each pair). */
export function historyRecords(history: readonly KeyRecord[], start = T0): DynamoDBRecord[] {
  return history.map((record, i) =>
    keyStreamRecord({
      ...(i > 0 && { old: history[i - 1] }),
      new: record,
      registryVersion: i + 1,
      at: start + i * 1_000,
    }),
  );
}
