/**
 * Read access to the append-only revocation list (design §4), for the two functions that consult it:
 * the publisher (it never publishes a listed kid) and the reconciler (it finishes a revoke the list
 * holds); and append access for those that write it (the reconciler's `revoke`, a multi-region
 * publisher's mirror). One place, so they get exactly the same rights and the same reasoning.
 */
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { OBJECT_KEYS } from '../src/constants.ts';
import { logicalIdOf } from './logical-id.ts';

export interface RevocationListAccess {
  /**
   * Also append to the list (s3:PutObject under `revocations/`, create-only by the bucket policy), with
   * this statement id: the rotate function's `revoke`, a multi-region publisher's mirror of REVOKED records.
   * @default - read only
   */
  readonly appendSid?: string;
}

export function grantReadRevocationList(
  role: iam.IRole,
  bucket: s3.IBucket,
  access: RevocationListAccess = {},
): void {
  if (access.appendSid) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: access.appendSid,
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects(`${OBJECT_KEYS.REVOCATIONS_PREFIX}*`)],
      }),
    );
  }
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadRevocationList',
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects(`${OBJECT_KEYS.REVOCATIONS_PREFIX}*`)],
    }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      // Unconditioned on purpose. Listing `revocations/` is how every revoked kid is learnt; and without
      // s3:ListBucket S3 answers a HEAD/GET of a missing object (the very first publication, a missing
      // entry) with 403, not 404, which cannot be told from a real access error. An `s3:prefix`
      // condition does not help there: HeadObject carries no prefix. The bucket holds only public documents.
      sid: 'ListRevocationsWithHonest404s',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
    }),
  );
  // cdk-nag names a bucket of this stack by its logical id, an imported one (a multi-region replica
  // region's, whose name is fixed: infra/regions.ts) by its ARN.
  const arn = bucket.node.defaultChild
    ? `<${logicalIdOf(bucket)}.Arn>`
    : `arn:<AWS::Partition>:s3:::${bucket.bucketName}`;
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${arn}/${OBJECT_KEYS.REVOCATIONS_PREFIX}*]`,
    reason:
      'The revocation list is one object per revoked kid under revocations/ (design §4): the names are not ' +
      `known in advance. ${access.appendSid ? 'Read and append' : 'Read-only'}; the bucket policy makes the ` +
      'prefix append-only (create-only, no delete) for everyone.',
  });
}
