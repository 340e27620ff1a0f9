/**
 * Stream records as the DynamoDB Streams API returns them (AWS SDK v3 shapes) → the event Lambda's
 * event source mapping hands a function, so the local stack invokes the publish and events handlers
 * with exactly what they get in AWS. The differences the SDK introduces are undone here:
 * `ApproximateCreationDateTime` is a Date in the SDK and epoch seconds in the Lambda event; binary
 * attributes are Uint8Array in the SDK and base64 strings in the event.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
 */
import type {
  AttributeValue as SdkAttributeValue,
  _Record as SdkRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type {
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  AttributeValue as LambdaAttributeValue,
} from 'aws-lambda';

type SdkImage = Record<string, SdkAttributeValue>;
type LambdaImage = Record<string, LambdaAttributeValue>;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

export function toLambdaAttribute(value: SdkAttributeValue): LambdaAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttribute) };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  throw new Error(`unknown attribute value type: ${Object.keys(value).join(',')}`);
}

export function toLambdaImage(image: SdkImage): LambdaImage {
  return Object.fromEntries(Object.entries(image).map(([name, v]) => [name, toLambdaAttribute(v)]));
}

/** Region of an ARN (`arn:aws:dynamodb:<region>:…`), for records that lack `awsRegion`. */
const regionOf = (arn: string): string | undefined => arn.split(':')[3] || undefined;

/** One SDK stream record → one Lambda `DynamoDBRecord`; `eventSourceARN` is the stream ARN. */
export function toLambdaRecord(record: SdkRecord, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  const created = d.ApproximateCreationDateTime;
  const out: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion ?? regionOf(streamArn),
    dynamodb: {
      ApproximateCreationDateTime: created === undefined ? undefined : Math.floor(created.getTime() / 1000),
      Keys: d.Keys && toLambdaImage(d.Keys),
      NewImage: d.NewImage && toLambdaImage(d.NewImage),
      OldImage: d.OldImage && toLambdaImage(d.OldImage),
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
    eventSourceARN: streamArn,
  };
  // TTL deletions carry the service identity; Lambda spells its members in camel case
  // (`{ type: 'Service', principalId: 'dynamodb.amazonaws.com' }`), the Streams API in Pascal case.
  if (record.userIdentity) {
    out.userIdentity = { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId };
  }
  return dropUndefinedDeep(out);
}

export function toLambdaEvent(records: readonly SdkRecord[], streamArn: string): DynamoDBStreamEvent {
  return { Records: records.map((r) => toLambdaRecord(r, streamArn)) };
}

/** Lambda's JSON has no `undefined` members; keep the event equal to what JSON.parse would give. */
function dropUndefinedDeep<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * Index of the record to retry from, or undefined when the batch succeeded. As Lambda does: the
 * lowest failed sequence number wins; a missing or unknown `itemIdentifier` fails the whole batch.
 */
export function firstFailedIndex(response: unknown, records: SdkRecord[]): number | undefined {
  const failures = (response as Partial<DynamoDBBatchResponse> | undefined)?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  let first = records.length;
  for (const failure of failures) {
    const index = records.findIndex((r) => r.dynamodb?.SequenceNumber === failure?.itemIdentifier);
    if (!failure?.itemIdentifier || index < 0) return 0;
    first = Math.min(first, index);
  }
  return first;
}
