/**
 * The deployable stack: one `JwksPublisher` and the outputs the CLI's `--stack` mode reads.
 * Environment-agnostic (no account/region lookups), so `cdk synth` works offline.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PATHS } from '../src/constants.ts';
import { JwksPublisher, type JwksPublisherProps } from './jwks-publisher.ts';
import { OUTPUTS } from './outputs.ts';

export interface JwksPublisherStackProps extends StackProps {
  readonly publisher?: JwksPublisherProps;
}

export class JwksPublisherStack extends Stack {
  readonly publisher: JwksPublisher;

  constructor(scope: Construct, id: string, props: JwksPublisherStackProps = {}) {
    super(scope, id, props);
    const p = new JwksPublisher(this, 'JwksPublisher', props.publisher);
    this.publisher = p;

    // Outputs at stack scope: their logical ids are exactly the OUTPUTS names.
    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output(
      OUTPUTS.JWKS_URL,
      `${p.issuer}${PATHS.JWKS}`,
      'JWKS URL at CloudFront (the one verifiers should use)',
    );
    output(OUTPUTS.API_JWKS_URL, p.api.jwksUrl, 'JWKS URL at the API Gateway stage');
    output(OUTPUTS.ISSUER_URL, p.issuer, 'Issuer (base of the discovery documents)');
    output(OUTPUTS.TABLE_NAME, p.registry.table.tableName, 'Key registry table');
    output(OUTPUTS.BUCKET_NAME, p.storage.bucket.bucketName, 'Bucket of the published documents');
    output(OUTPUTS.DISTRIBUTION_ID, p.distribution.distribution.distributionId, 'CloudFront distribution id');
    output(
      OUTPUTS.DISTRIBUTION_DOMAIN_NAME,
      p.distribution.distribution.distributionDomainName,
      'CloudFront domain (DNS target of a custom domain)',
    );
    output(OUTPUTS.DEPLOYMENT_NAME, p.settings.deploymentName, 'KMS deployment tag value');
    output(
      OUTPUTS.ROTATE_FUNCTION_NAME,
      p.rotation.handler.function.functionName,
      'Rotate (reconciler) function',
    );
    output(OUTPUTS.PUBLISH_FUNCTION_NAME, p.publication.handler.function.functionName, 'Publish function');
    output(OUTPUTS.ALARM_TOPIC_ARN, p.alarms.topic.topicArn, 'SNS topic of the alarms');
  }
}
