/**
 * What IAM authorises for one recorded AWS API call (test/support/aws-calls.ts): the action(s), the
 * resource ARN and the request context keys IAM conditions read. One SDK call can be several IAM
 * requests: a TransactWriteItems is one PutItem/UpdateItem/… per item; a CreateKey with Tags is also a
 * TagResource on the new key; a ReplicateKey is ReplicateKey on the primary plus CreateKey and
 * TagResource in the replica region; the first multi-Region key of an account also needs
 * iam:CreateServiceLinkedRole for KMS's multi-Region sync role.
 *
 * `dynamodb:Attributes` is taken conservatively: the key attributes, every attribute of a PutItem's
 * item, and every attribute an UpdateItem's update or condition expression names. A grant that allows
 * these allows what DynamoDB sends (which may be fewer).
 *
 * An operation this module does not know throws: a new code path must be mapped before the contract
 * can pass.
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
 * @see https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-auth-slr.html
 */
import type { RecordedCall } from './aws-calls.ts';
import { kms } from './kms-iam-requests.ts';

export { MRK_SERVICE, mrkServiceLinkedRoleArn } from './kms-iam-requests.ts';

export type Context = Record<string, string | string[]>;

/** Where the resource policy of a request comes from (the evaluator looks it up). */
export type ResourcePolicyRef =
  | { readonly kind: 'kms-key'; readonly arn: string }
  | { readonly kind: 's3-bucket'; readonly bucket: string }
  | { readonly kind: 'sns-topic'; readonly arn: string }
  /**
   * A key being created (tags at CreateKey/ReplicateKey): it has no key policy yet, so IAM alone decides,
   * as if the key policy delegated everything to the account.
   */
  | { readonly kind: 'kms-new-key' };

export interface IamRequest {
  readonly caller: string;
  readonly action: string;
  readonly resource: string;
  readonly context: Context;
  readonly resourcePolicy?: ResourcePolicyRef;
  /** The SDK call it came from, for messages: `us-east-1 KMS CreateKey`. */
  readonly from: string;
}

/** What the mapping needs to know about a KMS key that exists (tags, spec): read from the KMS stand-in. */
export interface KeyFacts {
  readonly tags: readonly { TagKey?: string; TagValue?: string }[];
  readonly keySpec: string;
}

export interface MappingContext {
  readonly account: string;
  readonly partition?: string;
  /** The facts of a key by ARN in its region; undefined when it does not exist. */
  readonly keyFacts: (arn: string) => KeyFacts | undefined;
}

type Attr = Record<string, { S?: string }>;

const names = (expression: unknown, aliases: unknown): string[] => {
  if (typeof expression !== 'string') return [];
  const map = (aliases ?? {}) as Record<string, string>;
  return [...expression.matchAll(/#\w+/g)].map((m) => map[m[0]] ?? m[0]);
};

const leadingKey = (key: unknown): string[] => {
  const pk = (key as Attr | undefined)?.pk?.S;
  return pk === undefined ? [] : [pk];
};

const uniq = (xs: string[]) => [...new Set(xs)].sort();

/** The IAM requests of one DynamoDB item write or read (also one item of a transaction). */
function dynamoItem(operation: string, input: Record<string, unknown>): { action: string; context: Context } {
  const context: Context = {};
  const key = (input.Key ?? input.Item) as Attr | undefined;
  context['dynamodb:LeadingKeys'] = leadingKey(key);
  const attributes = [
    ...Object.keys(key ?? {}),
    ...names(input.UpdateExpression, input.ExpressionAttributeNames),
    ...names(input.ConditionExpression, input.ExpressionAttributeNames),
    ...names(input.ProjectionExpression, input.ExpressionAttributeNames),
  ];
  context['dynamodb:Attributes'] = uniq(attributes);
  if (typeof input.ReturnValues === 'string') context['dynamodb:ReturnValues'] = input.ReturnValues;
  return { action: `dynamodb:${operation}`, context };
}

function dynamodb(
  call: RecordedCall,
  m: MappingContext,
  partition: string,
): Omit<IamRequest, 'caller' | 'from'>[] {
  const tableArn = (name: unknown) =>
    `arn:${partition}:dynamodb:${call.region}:${m.account}:table/${String(name)}`;
  const { input, operation } = call;
  switch (operation) {
    case 'GetItem':
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [{ ...dynamoItem(operation, input), resource: tableArn(input.TableName) }];
    case 'Query': {
      // `#pk = :pk`: the partition key's value is what LeadingKeys sees.
      const aliases = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
      const values = (input.ExpressionAttributeValues ?? {}) as Attr;
      const match = /(#?\w+)\s*=\s*(:\w+)/.exec(String(input.KeyConditionExpression ?? ''));
      const name = match ? (aliases[match[1] as string] ?? match[1]) : undefined;
      const pk = name === 'pk' && match ? values[match[2] as string]?.S : undefined;
      const context: Context = { 'dynamodb:LeadingKeys': pk === undefined ? [] : [pk] };
      if (typeof input.Select === 'string') context['dynamodb:Select'] = input.Select;
      return [{ action: 'dynamodb:Query', resource: tableArn(input.TableName), context }];
    }
    case 'TransactWriteItems': {
      const ops = {
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
      };
      return (input.TransactItems as Record<string, Record<string, unknown>>[]).flatMap((item) =>
        Object.entries(ops)
          .filter(([field]) => item[field])
          .map(([field, op]) => {
            const part = item[field] as Record<string, unknown>;
            return { ...dynamoItem(op, part), resource: tableArn(part.TableName) };
          }),
      );
    }
    default:
      throw new Error(`iam-requests: DynamoDB ${operation} is not mapped`);
  }
}

function s3(call: RecordedCall, partition: string): Omit<IamRequest, 'caller' | 'from'>[] {
  const { input, operation } = call;
  const bucket = String(input.Bucket);
  const object = `arn:${partition}:s3:::${bucket}/${String(input.Key)}`;
  const base = { 'aws:SecureTransport': 'true' };
  const policy = { kind: 's3-bucket', bucket } as const;
  switch (operation) {
    case 'GetObject':
    case 'HeadObject':
      return [{ action: 's3:GetObject', resource: object, context: base, resourcePolicy: policy }];
    case 'PutObject': {
      const context: Context = { ...base };
      if (typeof input.IfNoneMatch === 'string') context['s3:if-none-match'] = input.IfNoneMatch;
      if (typeof input.IfMatch === 'string') context['s3:if-match'] = input.IfMatch;
      return [{ action: 's3:PutObject', resource: object, context, resourcePolicy: policy }];
    }
    case 'DeleteObject':
      return [{ action: 's3:DeleteObject', resource: object, context: base, resourcePolicy: policy }];
    case 'ListObjectsV2':
      return [
        {
          action: 's3:ListBucket',
          resource: `arn:${partition}:s3:::${bucket}`,
          context: { ...base, ...(input.Prefix === undefined ? {} : { 's3:prefix': String(input.Prefix) }) },
          resourcePolicy: policy,
        },
      ];
    default:
      throw new Error(`iam-requests: S3 ${operation} is not mapped`);
  }
}

/** The IAM requests of one recorded call. */
export function iamRequests(call: RecordedCall, m: MappingContext): IamRequest[] {
  const partition = m.partition ?? 'aws';
  const from = `${call.region} ${call.service} ${call.operation}`;
  const { input } = call;
  let requests: Omit<IamRequest, 'caller' | 'from'>[];
  switch (call.service) {
    case 'DynamoDB':
      requests = dynamodb(call, m, partition);
      break;
    case 'KMS':
      requests = kms(call, m, partition);
      break;
    case 'S3':
      requests = s3(call, partition);
      break;
    case 'ResourceGroupsTaggingAPI':
      if (call.operation !== 'GetResources')
        throw new Error(`iam-requests: tagging ${call.operation} is not mapped`);
      requests = [
        { action: 'tag:GetResources', resource: '*', context: { 'aws:RequestedRegion': call.region } },
      ];
      break;
    case 'CloudFront':
      if (call.operation !== 'CreateInvalidation')
        throw new Error(`iam-requests: CloudFront ${call.operation} is not mapped`);
      requests = [
        {
          action: 'cloudfront:CreateInvalidation',
          resource: `arn:${partition}:cloudfront::${m.account}:distribution/${String(input.DistributionId)}`,
          context: {},
        },
      ];
      break;
    case 'SNS':
      if (call.operation !== 'Publish') throw new Error(`iam-requests: SNS ${call.operation} is not mapped`);
      requests = [
        {
          action: 'sns:Publish',
          resource: String(input.TopicArn),
          context: { 'aws:SecureTransport': 'true' },
          resourcePolicy: { kind: 'sns-topic', arn: String(input.TopicArn) },
        },
      ];
      break;
    case 'SecretsManager':
      if (call.operation !== 'GetSecretValue')
        throw new Error(`iam-requests: Secrets Manager ${call.operation} is not mapped`);
      requests = [{ action: 'secretsmanager:GetSecretValue', resource: String(input.SecretId), context: {} }];
      break;
    default:
      throw new Error(`iam-requests: ${call.service} ${call.operation} is not mapped`);
  }
  return requests.map((r) => ({ ...r, caller: call.caller, from }));
}
