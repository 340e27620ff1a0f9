/**
 * The deployable stack: one `JwksPublisher` and the outputs the CLI's `--stack` mode reads
 * (STACK_OUTPUTS in src/constants.ts, shared with src/cli/deployed-context.ts).
 * Environment-agnostic (no account/region lookups), so `cdk synth` works offline.
 */
import { CfnOutput, Lazy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EMPTY_LIST_OUTPUT, MULTI_REGION_OUTPUTS, PATHS, STACK_OUTPUTS } from '../src/constants.ts';
import { policyAsInput } from './environment.ts';
import { JwksPublisher, type JwksPublisherProps } from './jwks-publisher.ts';

/** Stack-wide tag keys (`Tags.of`); add your own with the stack's `tags` prop. */
export const STACK_TAGS = {
  APPLICATION: 'jwks-publisher:application',
  ENVIRONMENT: 'jwks-publisher:environment',
  DEPLOYMENT: 'jwks-publisher:stack-deployment',
} as const;

export interface JwksPublisherStackProps extends StackProps {
  readonly publisher?: JwksPublisherProps;
}

/** A role list as one output value; resolved at synth so roles added after construction count. */
const listOutput = (arns: () => readonly string[]): string =>
  Lazy.string({ produce: () => (arns().length > 0 ? arns().join(',') : EMPTY_LIST_OUTPUT) });

export class JwksPublisherStack extends Stack {
  readonly publisher: JwksPublisher;

  constructor(scope: Construct, id: string, props: JwksPublisherStackProps = {}) {
    super(scope, id, props);
    const p = new JwksPublisher(this, 'JwksPublisher', props.publisher);
    this.publisher = p;
    // On every taggable resource of the stack (cost allocation, ownership). Not on the signing keys:
    // the rotator creates those with exactly its two tags (its IAM policy allows no others).
    Tags.of(this).add(STACK_TAGS.APPLICATION, 'jwks-publisher');
    Tags.of(this).add(STACK_TAGS.ENVIRONMENT, p.settings.envName);
    Tags.of(this).add(STACK_TAGS.DEPLOYMENT, p.settings.deploymentName);

    // Outputs at stack scope: their logical ids are exactly the STACK_OUTPUTS names.
    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output(
      STACK_OUTPUTS.JWKS_URL,
      `${p.issuer}${PATHS.JWKS}`,
      'JWKS URL at CloudFront (the one verifiers should use)',
    );
    output(STACK_OUTPUTS.API_JWKS_URL, p.api.jwksUrl, 'JWKS URL at the API Gateway stage');
    output(STACK_OUTPUTS.ISSUER_URL, p.issuer, 'Issuer (base of the discovery documents)');
    output(STACK_OUTPUTS.TABLE_NAME, p.registry.table.tableName, 'Key registry table');
    output(STACK_OUTPUTS.BUCKET_NAME, p.storage.bucket.bucketName, 'Bucket of the published documents');
    output(
      STACK_OUTPUTS.DISTRIBUTION_ID,
      p.distribution.distribution.distributionId,
      'CloudFront distribution id',
    );
    output(
      STACK_OUTPUTS.DISTRIBUTION_DOMAIN_NAME,
      p.distribution.distribution.distributionDomainName,
      'CloudFront domain (DNS target of a custom domain)',
    );
    output(STACK_OUTPUTS.DEPLOYMENT_NAME, p.settings.deploymentName, 'KMS deployment tag value');
    output(
      STACK_OUTPUTS.ROTATE_FUNCTION_NAME,
      p.rotation.handler.function.functionName,
      'Rotate (reconciler) function',
    );
    output(
      STACK_OUTPUTS.PUBLISH_FUNCTION_NAME,
      p.publication.handler.function.functionName,
      'Publish function',
    );
    output(STACK_OUTPUTS.ALARM_TOPIC_ARN, p.alarms.topic.topicArn, 'SNS topic of the alarms');
    output(
      STACK_OUTPUTS.TOPIC_ARN,
      p.events.topic.topicArn,
      'SNS topic of the key lifecycle events (filter on the type attribute)',
    );
    output(
      STACK_OUTPUTS.TOKEN_ENDPOINT_URL,
      `${p.issuer}${PATHS.TOKEN}`,
      'Token endpoint (OAuth 2.0 client credentials) under the issuer',
    );
    output(
      STACK_OUTPUTS.TOKEN_FUNCTION_NAME,
      p.token.handler.function.functionName,
      'Token function (its role is a signer in every new key policy)',
    );
    output(
      STACK_OUTPUTS.AUDIT_BUCKET_NAME,
      p.events.auditBucket.bucketName,
      'Audit trail bucket (Object Lock)',
    );

    // What the CLI needs to create keys exactly as the rotate function does (same key policy) and to
    // apply the deployed lifecycle policy.
    output(
      STACK_OUTPUTS.ROTATE_ROLE_ARN,
      p.rotation.handler.role.roleArn,
      'Rotate function role: key administrator in every key policy',
    );
    output(
      STACK_OUTPUTS.SIGNER_ROLE_ARNS,
      listOutput(() => p.rotation.keySignerRoleArns),
      `Roles named as signers in new key policies, comma-separated ("${EMPTY_LIST_OUTPUT}" = none)`,
    );
    output(
      STACK_OUTPUTS.READER_ROLE_ARNS,
      listOutput(() => p.rotation.keyReaderRoleArns),
      `Roles named as public-key readers in new key policies, comma-separated ("${EMPTY_LIST_OUTPUT}" = none)`,
    );
    const multiRegion = props.publisher?.multiRegion;
    if (multiRegion) {
      output(
        MULTI_REGION_OUTPUTS.REGIONS,
        multiRegion.regions.join(','),
        'Regions of the deployment, home first (their replicas of TableName hold the registry)',
      );
    }
    output(
      STACK_OUTPUTS.POLICY_JSON,
      JSON.stringify(policyAsInput(p.settings.policy)),
      'Lifecycle policy the stack was deployed with (PolicyInput JSON)',
    );
  }
}
