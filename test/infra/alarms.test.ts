import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { KEY_TAGS, METRICS_NAMESPACE, SERVICE_NAMES } from '../../src/constants.ts';
import { logicalId, synth } from './synth.ts';

describe('JwksAlarms', () => {
  const { stack, template } = synth({ alarmEmail: 'ops@example.com' });
  const topicId = logicalId(stack.publisher.alarms.topic);
  const deployment = stack.publisher.settings.deploymentName;

  it('alarms on a missing successful reconcile over two schedule periods, missing data breaching', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: 'ReconcileSucceeded',
      // Exactly the dimensions the rotate handler's Powertools Metrics writes (it adds `service`).
      Dimensions: [
        { Name: 'Deployment', Value: deployment },
        { Name: 'service', Value: 'jwks-rotate' },
      ],
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 2,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: topicId }],
    });
  });

  it('alarms on rotation errors, publication lag, unpublished records and unknown vault keys', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const metric = (name: string, namespace?: string) =>
      alarms.filter((a) => a.MetricName === name && (!namespace || a.Namespace === namespace));
    const rotateFn = { Ref: logicalId(stack.publisher.rotation.handler.function) };
    const publishFn = { Ref: logicalId(stack.publisher.publication.handler.function) };
    expect(metric('Errors', 'AWS/Lambda').map((a) => a.Dimensions[0].Value)).toEqual(
      expect.arrayContaining([rotateFn, publishFn]),
    );
    expect(metric('IteratorAge', 'AWS/Lambda')).toContainEqual(
      expect.objectContaining({
        Statistic: 'Maximum',
        Dimensions: [{ Name: 'FunctionName', Value: publishFn }],
      }),
    );
    expect(metric('ApproximateNumberOfMessagesVisible', 'AWS/SQS')).toContainEqual(
      expect.objectContaining({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [
          {
            Name: 'QueueName',
            Value: { 'Fn::GetAtt': [logicalId(stack.publisher.publication.failureQueue), 'QueueName'] },
          },
        ],
      }),
    );
    expect(metric('UnknownVaultKeys', METRICS_NAMESPACE)).toHaveLength(1);
    // design §11: a record the vault does not back, counted by the publish function.
    expect(metric('UnverifiedKeys', METRICS_NAMESPACE)).toEqual([
      expect.objectContaining({
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        Dimensions: expect.arrayContaining([
          { Name: 'Deployment', Value: deployment },
          { Name: 'service', Value: SERVICE_NAMES.PUBLISH },
        ]),
      }),
    ]);
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
  });

  it('alarms on events errors, events lag and records the events consumer gave up on', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const on = (metricName: string, dimension: unknown) =>
      alarms.filter(
        (a) =>
          a.MetricName === metricName &&
          JSON.stringify(a.Dimensions?.[0]?.Value) === JSON.stringify(dimension),
      );
    const eventsFn = { Ref: logicalId(stack.publisher.events.handler.function) };
    const queue = { 'Fn::GetAtt': [logicalId(stack.publisher.events.failureQueue), 'QueueName'] };
    expect(on('Errors', eventsFn)).toEqual([
      expect.objectContaining({ Namespace: 'AWS/Lambda', Statistic: 'Sum', Threshold: 3 }),
    ]);
    expect(on('IteratorAge', eventsFn)).toEqual([
      expect.objectContaining({
        Statistic: 'Maximum',
        Threshold: 5 * 60_000,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    ]);
    expect(on('ApproximateNumberOfMessagesVisible', queue)).toEqual([
      expect.objectContaining({ Namespace: 'AWS/SQS', Threshold: 1, AlarmActions: [{ Ref: topicId }] }),
    ]);
  });

  it('alarms on records the events function reports as failed, on the dimensions the handler writes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: 'RecordsFailed',
      Dimensions: [
        { Name: 'Deployment', Value: deployment },
        { Name: 'service', Value: 'jwks-events' },
      ],
      Statistic: 'Sum',
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
    });
    const fn = template.toJSON().Resources[logicalId(stack.publisher.events.handler.function)];
    expect(fn.Properties.Environment.Variables.DEPLOYMENT_NAME).toBe(deployment);
  });

  it('sends KMS tagging of the deployment tag outside key creation (CloudTrail) to the alarm topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.kms'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: {
          eventSource: ['kms.amazonaws.com'],
          eventName: ['TagResource', 'UntagResource'],
          $or: [
            { requestParameters: { tags: { tagKey: [KEY_TAGS.DEPLOYMENT] } } },
            { requestParameters: { tagKeys: [KEY_TAGS.DEPLOYMENT] } },
          ],
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: topicId } })],
    });
  });

  it('encrypts the topic with a rotating customer managed key that CloudWatch and EventBridge may use', () => {
    const keyId = template.toJSON().Resources[topicId].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const key = template.toJSON().Resources[keyId].Properties;
    expect(key.EnableKeyRotation).toBe(true);
    const services = key.KeyPolicy.Statement.flatMap((s: { Principal: { Service?: string } }) =>
      s.Principal.Service ? [s.Principal.Service] : [],
    );
    expect(services).toEqual(expect.arrayContaining(['cloudwatch.amazonaws.com', 'events.amazonaws.com']));
  });

  it('lets CloudWatch alarms of this account publish to every topic an alarm action targets', () => {
    const json = template.toJSON();
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')).map((p) => p.Properties);
    /** Whether the policies of `topic` allow this account's CloudWatch alarms to publish to it. */
    const cloudWatchMayPublish = (topic: unknown) =>
      policies
        .filter((p) => p.Topics.some((t: unknown) => JSON.stringify(t) === JSON.stringify(topic)))
        .flatMap((p) => p.PolicyDocument.Statement)
        .some(
          (s) =>
            s.Effect === 'Allow' &&
            s.Principal?.Service === 'cloudwatch.amazonaws.com' &&
            [s.Action].flat().includes('sns:Publish') &&
            JSON.stringify(s.Condition?.StringEquals?.['aws:SourceAccount']) ===
              JSON.stringify({ Ref: 'AWS::AccountId' }) &&
            JSON.stringify(s.Condition?.ArnLike?.['aws:SourceArn']).includes(':alarm:*'),
        );
    type AlarmProps = { AlarmActions?: unknown[]; OKActions?: unknown[] };
    const targets = Object.values(json.Resources as Record<string, { Type: string; Properties: AlarmProps }>)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .flatMap((r) => [...(r.Properties.AlarmActions ?? []), ...(r.Properties.OKActions ?? [])]);
    expect(targets.length).toBeGreaterThan(10);
    for (const topic of targets) expect(cloudWatchMayPublish(topic), JSON.stringify(topic)).toBe(true);
  });

  it('lets the services use the alarm topic key only on behalf of this account', () => {
    const keyId = template.toJSON().Resources[topicId].Properties.KmsMasterKeyId['Fn::GetAtt'][0];
    const statements = template.toJSON().Resources[keyId].Properties.KeyPolicy.Statement as Array<{
      Principal: { Service?: string };
      Condition?: Record<string, Record<string, unknown>>;
    }>;
    const services = statements.filter((s) => s.Principal.Service);
    expect(services.length).toBe(2);
    for (const s of services) {
      expect(s.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    }
  });

  it('refuses publishing over plain HTTP and subscribes the alarm e-mail', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId },
    });
    expect(synth().template.findResources('AWS::SNS::Subscription')).toEqual({});
  });
});
