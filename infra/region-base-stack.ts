/**
 * A replica region's base stack (multi-region, ADR 0008; layers in infra/regions.ts), deployed before
 * the home stack:
 *
 * - the documents bucket and its log bucket: the home stack's distribution fails over to the first
 *   replica region's bucket, so that bucket must exist (and be this account's) before the distribution
 *   names it. Its policy admits CloudFront for this account's distributions (the distribution does not
 *   exist yet, so its ARN cannot be named); everything in it is public by design, and the revocation
 *   list is denied to the edge as in the home bucket;
 * - the roles of the region's key-policy principals (rotate, publish, token), with fixed names: every
 *   key policy names them, and KMS refuses a policy naming a role that does not exist yet. The
 *   region's stack gives them their functions and permissions; here they can do nothing.
 */
import { Aws, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { JwksBucket } from './jwks-bucket.ts';
import { denyEdgeTheRevocationList } from './jwks-distribution.ts';
import { documentsBucketName, KEY_ROLES, type KeyRole, keyRoleName } from './regions.ts';

export interface RegionBaseStackProps extends StackProps {
  /** The app's stack name (`-c stackName`), without region: role names derive from it. */
  readonly appStackName: string;
  /** Stack tags, as on the regional stacks (STACK_TAGS of jwks-publisher-stack.ts). */
  readonly stackTags: Readonly<Record<string, string>>;
}

export class RegionBaseStack extends Stack {
  readonly storage: JwksBucket;
  readonly roles: Readonly<Record<KeyRole, iam.Role>>;

  constructor(scope: Construct, id: string, props: RegionBaseStackProps) {
    super(scope, id, props);
    this.storage = new JwksBucket(this, 'Storage', {
      bucketName: documentsBucketName(props.appStackName, this.account, this.region),
    });
    const { bucket } = this.storage;
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EdgeOfThisAccountReadsDocuments',
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects('*')],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudfront::${Aws.ACCOUNT_ID}:distribution/*` },
        },
      }),
    );
    denyEdgeTheRevocationList(bucket);

    const roles = {} as Record<KeyRole, iam.Role>;
    for (const role of KEY_ROLES) {
      roles[role] = new iam.Role(this, `${role[0]?.toUpperCase()}${role.slice(1)}Role`, {
        roleName: keyRoleName(props.appStackName, this.region, role),
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${role} handler of the JWKS publisher in ${this.region} (its stack adds the permissions)`,
      });
    }
    this.roles = roles;
    for (const [key, value] of Object.entries(props.stackTags)) Tags.of(this).add(key, value);
  }
}
