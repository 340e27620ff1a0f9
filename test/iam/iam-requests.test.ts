/**
 * The mapping of recorded SDK calls to the IAM requests AWS authorises (test/support/iam-requests.ts):
 * the IAM contract is only as good as this translation.
 */
import { describe, expect, it } from 'vitest';
import type { RecordedCall } from '../support/aws-calls.ts';
import { iamRequests, MRK_SERVICE } from '../support/iam-requests.ts';

const ACCOUNT = '111122223333';
const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1`;
const mapping = {
  account: ACCOUNT,
  keyFacts: (arn: string) =>
    arn === KEY
      ? { keySpec: 'RSA_2048', tags: [{ TagKey: 'jwks-publisher:deployment', TagValue: 'd' }] }
      : undefined,
};
const call = (
  service: string,
  operation: string,
  input: Record<string, unknown>,
  output?: Record<string, unknown>,
): RecordedCall => ({
  caller: 'rotate@us-east-1',
  service,
  region: 'us-east-1',
  operation,
  input,
  ...(output ? { output } : {}),
});
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/T`;
const tags = [
  { TagKey: 'jwks-publisher:deployment', TagValue: 'd' },
  { TagKey: 'jwks-publisher:key-ref', TagValue: 'r' },
];

describe('iamRequests', () => {
  it('authorises each item of a TransactWriteItems as its own PutItem or UpdateItem, with its partition and attributes', () => {
    const requests = iamRequests(
      call('DynamoDB', 'TransactWriteItems', {
        TransactItems: [
          {
            Put: {
              TableName: 'T',
              Item: { pk: { S: 'REGISTRY' }, sk: { S: 'PROMOTION#1' }, epoch: { N: '1' } },
            },
          },
          {
            Update: {
              TableName: 'T',
              Key: { pk: { S: 'REGISTRY' }, sk: { S: 'STATE' } },
              UpdateExpression: 'SET #region = :r',
              ConditionExpression: '#rv = :v',
              ExpressionAttributeNames: { '#region': 'primaryRegion', '#rv': 'registryVersion' },
            },
          },
        ],
      }),
      mapping,
    );
    expect(requests.map((r) => [r.action, r.resource, r.context])).toEqual([
      [
        'dynamodb:PutItem',
        TABLE,
        { 'dynamodb:LeadingKeys': ['REGISTRY'], 'dynamodb:Attributes': ['epoch', 'pk', 'sk'] },
      ],
      [
        'dynamodb:UpdateItem',
        TABLE,
        {
          'dynamodb:LeadingKeys': ['REGISTRY'],
          'dynamodb:Attributes': ['pk', 'primaryRegion', 'registryVersion', 'sk'],
        },
      ],
    ]);
  });

  it("reads a Query's partition key value from its key condition", () => {
    const [query] = iamRequests(
      call('DynamoDB', 'Query', {
        TableName: 'T',
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':pk': { S: 'CLIENT#x' } },
      }),
      mapping,
    );
    expect(query?.context).toEqual({ 'dynamodb:LeadingKeys': ['CLIENT#x'] });
  });

  it('makes a tagged multi-Region CreateKey three requests: the key, its tags, and KMS’s service-linked role', () => {
    const requests = iamRequests(
      call(
        'KMS',
        'CreateKey',
        {
          KeySpec: 'RSA_2048',
          KeyUsage: 'SIGN_VERIFY',
          MultiRegion: true,
          BypassPolicyLockoutSafetyCheck: true,
          Tags: tags,
        },
        { KeyMetadata: { Arn: KEY } },
      ),
      mapping,
    );
    expect(requests.map((r) => r.action)).toEqual([
      'kms:CreateKey',
      'kms:TagResource',
      'iam:CreateServiceLinkedRole',
    ]);
    expect(requests[0]?.context).toMatchObject({
      'kms:KeyOrigin': 'AWS_KMS',
      'kms:MultiRegion': 'true',
      'aws:RequestedRegion': 'us-east-1',
      'aws:TagKeys': ['jwks-publisher:deployment', 'jwks-publisher:key-ref'],
    });
    expect(requests[1]).toMatchObject({ resource: KEY, resourcePolicy: { kind: 'kms-new-key' } });
    expect(requests[2]?.context).toEqual({ 'iam:AWSServiceName': MRK_SERVICE });
  });

  it('makes a ReplicateKey the primary’s ReplicateKey plus CreateKey and TagResource in the replica region', () => {
    const requests = iamRequests(
      call('KMS', 'ReplicateKey', { KeyId: KEY, ReplicaRegion: 'eu-west-1', Tags: tags }),
      mapping,
    );
    expect(requests.map((r) => [r.action, r.resource, r.context['aws:RequestedRegion']])).toEqual([
      ['kms:ReplicateKey', KEY, 'us-east-1'],
      ['kms:CreateKey', '*', 'eu-west-1'],
      ['kms:TagResource', KEY.replace('us-east-1', 'eu-west-1'), 'eu-west-1'],
    ]);
    expect(requests[0]?.resourcePolicy).toEqual({ kind: 'kms-key', arn: KEY });
    expect(requests[0]?.context['aws:ResourceTag/jwks-publisher:deployment']).toBe('d');
    expect(requests[1]?.context['kms:KeySpec']).toBe('RSA_2048');
  });

  it('passes the conditional-write header of a PutObject to the bucket policy', () => {
    const [put] = iamRequests(
      call('S3', 'PutObject', { Bucket: 'b', Key: 'revocations/k', IfNoneMatch: '*' }),
      mapping,
    );
    expect(put).toMatchObject({
      action: 's3:PutObject',
      resource: 'arn:aws:s3:::b/revocations/k',
      context: { 's3:if-none-match': '*' },
      resourcePolicy: { kind: 's3-bucket', bucket: 'b' },
    });
  });

  it('refuses an operation it does not know, so a new code path cannot pass unexamined', () => {
    expect(() => iamRequests(call('DynamoDB', 'Scan', { TableName: 'T' }), mapping)).toThrow(/not mapped/);
    expect(() => iamRequests(call('KMS', 'Decrypt', { KeyId: KEY }), mapping)).toThrow(/not mapped/);
  });
});
