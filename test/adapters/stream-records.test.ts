import type { _Record as SdkRecord } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { toLambdaEvent, toLambdaRecord } from '../../src/local/stream-records.ts';

const streamArn = 'arn:aws:dynamodb:eu-west-1:111122223333:table/registry/stream/2024-01-01T00:00:00.000';

describe('toLambdaRecord', () => {
  it('turns the SDK Date into epoch seconds and binary into base64, like the Lambda event', () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const record: SdkRecord = {
      eventID: 'e1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      dynamodb: {
        ApproximateCreationDateTime: new Date('2024-05-01T10:20:30.000Z'),
        Keys: { pk: { S: 'REGISTRY' } },
        NewImage: {
          pk: { S: 'REGISTRY' },
          blob: { B: bytes },
          blobs: { BS: [bytes] },
          nested: { M: { list: { L: [{ N: '1' }, { BOOL: true }, { NULL: true }] }, tags: { SS: ['a'] } } },
          nums: { NS: ['1', '2'] },
        },
        SequenceNumber: '42',
        SizeBytes: 99,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    const base64 = Buffer.from(bytes).toString('base64');
    expect(toLambdaRecord(record, streamArn)).toEqual({
      eventID: 'e1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      eventSourceARN: streamArn,
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2024-05-01T10:20:30.000Z') / 1000,
        Keys: { pk: { S: 'REGISTRY' } },
        NewImage: {
          pk: { S: 'REGISTRY' },
          blob: { B: base64 },
          blobs: { BS: [base64] },
          nested: { M: { list: { L: [{ N: '1' }, { BOOL: true }, { NULL: true }] }, tags: { SS: ['a'] } } },
          nums: { NS: ['1', '2'] },
        },
        SequenceNumber: '42',
        SizeBytes: 99,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  });

  it('fills eventSource, version and region from the stream when the record lacks them', () => {
    const [record] = toLambdaEvent([{ eventID: 'e2', eventName: 'REMOVE', dynamodb: {} }], streamArn).Records;
    expect(record).toMatchObject({
      eventSource: 'aws:dynamodb',
      eventVersion: '1.1',
      awsRegion: 'eu-west-1',
    });
    expect(record?.dynamodb).toEqual({});
  });

  it('passes the TTL service identity on, in Lambda’s spelling, when a record has one', () => {
    const identity = { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' };
    expect(toLambdaRecord({ eventID: 'e3', userIdentity: identity }, streamArn).userIdentity).toEqual({
      type: 'Service',
      principalId: 'dynamodb.amazonaws.com',
    });
  });
});
