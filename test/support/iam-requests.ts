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

/** IAM service-linked role of KMS multi-Region keys. */
export const MRK_SERVICE = 'mrk.kms.amazonaws.com';
export const mrkServiceLinkedRoleArn = (account: string, partition = 'aws') =>
  `arn:${partition}:iam::${account}:role/aws-service-role/${MRK_SERVICE}/AWSServiceRoleForKeyManagementServiceMultiRegionKeys`;

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

const keyArnOf = (id: unknown, region: string, account: string, partition: string) =>
  String(id).startsWith('arn:') ? String(id) : `arn:${partition}:kms:${region}:${account}:key/${String(id)}`;

const tagContext = (tags: unknown): Context => {
  const list = (tags ?? []) as { TagKey: string; TagValue: string }[];
  if (list.length === 0) return {};
  return {
    ...Object.fromEntries(list.map((t) => [`aws:RequestTag/${t.TagKey}`, t.TagValue])),
    'aws:TagKeys': list.map((t) => t.TagKey),
  };
};

const resourceTags = (facts: KeyFacts | undefined): Context =>
  Object.fromEntries((facts?.tags ?? []).map((t) => [`aws:ResourceTag/${t.TagKey}`, String(t.TagValue)]));

function kms(
  call: RecordedCall,
  m: MappingContext,
  partition: string,
): Omit<IamRequest, 'caller' | 'from'>[] {
  const { input, operation, region } = call;
  const requested = { 'aws:RequestedRegion': region };
  const bool = (v: unknown) => (v === true ? 'true' : 'false');
  switch (operation) {
    case 'CreateKey': {
      const created = (call.output?.KeyMetadata as { Arn?: string } | undefined)?.Arn;
      const out: Omit<IamRequest, 'caller' | 'from'>[] = [
        {
          action: 'kms:CreateKey',
          resource: '*',
          context: {
            ...requested,
            'kms:KeySpec': String(input.KeySpec ?? 'SYMMETRIC_DEFAULT'),
            'kms:KeyUsage': String(input.KeyUsage ?? 'ENCRYPT_DECRYPT'),
            'kms:KeyOrigin': String(input.Origin ?? 'AWS_KMS'),
            'kms:MultiRegion': bool(input.MultiRegion),
            'kms:BypassPolicyLockoutSafetyCheck': bool(input.BypassPolicyLockoutSafetyCheck),
            ...tagContext(input.Tags),
          },
        },
      ];
      if (input.Tags && created) {
        out.push({
          action: 'kms:TagResource',
          resource: created,
          context: { ...requested, ...tagContext(input.Tags) },
          resourcePolicy: { kind: 'kms-new-key' },
        });
      }
      if (input.MultiRegion === true) {
        out.push({
          action: 'iam:CreateServiceLinkedRole',
          resource: mrkServiceLinkedRoleArn(m.account, partition),
          context: { 'iam:AWSServiceName': MRK_SERVICE },
        });
      }
      return out;
    }
    case 'ReplicateKey': {
      const primary = keyArnOf(input.KeyId, region, m.account, partition);
      const target = String(input.ReplicaRegion);
      const facts = m.keyFacts(primary);
      const replica = primary.replace(`:kms:${region}:`, `:kms:${target}:`);
      const there = { 'aws:RequestedRegion': target };
      return [
        {
          action: 'kms:ReplicateKey',
          resource: primary,
          context: { ...requested, 'kms:ReplicaRegion': target, ...resourceTags(facts) },
          resourcePolicy: { kind: 'kms-key', arn: primary },
        },
        {
          // In the replica region: the shared properties are the primary's.
          action: 'kms:CreateKey',
          resource: '*',
          context: {
            ...there,
            'kms:KeySpec': facts?.keySpec ?? 'UNKNOWN',
            'kms:KeyUsage': 'SIGN_VERIFY',
            'kms:KeyOrigin': 'AWS_KMS',
            'kms:MultiRegion': 'true',
            'kms:BypassPolicyLockoutSafetyCheck': bool(input.BypassPolicyLockoutSafetyCheck),
            ...tagContext(input.Tags),
          },
        },
        ...(input.Tags
          ? [
              {
                action: 'kms:TagResource',
                resource: replica,
                context: { ...there, ...tagContext(input.Tags) },
                resourcePolicy: { kind: 'kms-new-key' } as const,
              },
            ]
          : []),
      ];
    }
    case 'DescribeKey':
    case 'GetPublicKey':
    case 'ListResourceTags':
    case 'DisableKey':
    case 'ScheduleKeyDeletion':
    case 'Sign': {
      const arn = keyArnOf(input.KeyId, region, m.account, partition);
      const context: Context = { ...requested, ...resourceTags(m.keyFacts(arn)) };
      if (operation === 'Sign') {
        context['kms:SigningAlgorithm'] = String(input.SigningAlgorithm);
        context['kms:MessageType'] = String(input.MessageType ?? 'RAW');
      }
      if (operation === 'ScheduleKeyDeletion' && input.PendingWindowInDays !== undefined) {
        context['kms:ScheduleKeyDeletionPendingWindowInDays'] = String(input.PendingWindowInDays);
      }
      return [
        { action: `kms:${operation}`, resource: arn, context, resourcePolicy: { kind: 'kms-key', arn } },
      ];
    }
    default:
      throw new Error(`iam-requests: KMS ${operation} is not mapped`);
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
