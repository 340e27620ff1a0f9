/**
 * The KMS part of test/support/iam-requests.ts: what KMS authorises for each KMS call the code makes.
 * A CreateKey with tags is also kms:TagResource on the new key (no key policy exists yet: IAM decides),
 * and a multi-Region one also iam:CreateServiceLinkedRole for KMS's sync role; a ReplicateKey is
 * kms:ReplicateKey on the primary (its key policy decides) plus kms:CreateKey and kms:TagResource in
 * the replica region, where the replica's shared properties are the primary's.
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-auth-slr.html
 */
import type { RecordedCall } from './aws-calls.ts';
import type { Context, IamRequest, KeyFacts, MappingContext } from './iam-requests.ts';

/** IAM service-linked role of KMS multi-Region keys. */
export const MRK_SERVICE = 'mrk.kms.amazonaws.com';
export const mrkServiceLinkedRoleArn = (account: string, partition = 'aws') =>
  `arn:${partition}:iam::${account}:role/aws-service-role/${MRK_SERVICE}/AWSServiceRoleForKeyManagementServiceMultiRegionKeys`;

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

export function kms(
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
