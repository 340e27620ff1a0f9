import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { JwksCanary } from '../../infra/jwks-canary.ts';
import { CANARY_PATHS, ENV, METRICS_NAMESPACE, TABLE } from '../../src/constants.ts';
import { parsePolicy } from '../../src/core/policy.ts';
import { actionMatches, allowedActions, asArray, logicalId, roleStatements, synth } from './synth.ts';

describe('JwksCanary', () => {
  const { stack, template } = synth();
  const canary = stack.publisher.canary;
  const deployment = stack.publisher.settings.deploymentName;
  const fnId = logicalId(canary.handler.function);
  const secretId = logicalId(canary.secret);

  it('runs the canary every 5 minutes by default, without retries', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }),
      ],
    });
  });

  it('gives the function the issuer, the API Gateway JWKS URL, its secret, the registry table and the policy, and no bucket', () => {
    const fn = template.findResources('AWS::Lambda::Function')[fnId];
    const vars = fn?.Properties.Environment.Variables;
    expect(vars[ENV.CANARY_SECRET_ARN]).toEqual({ Ref: secretId });
    expect(vars[ENV.ISSUER]).toBeDefined();
    expect(JSON.stringify(vars[ENV.CANARY_API_JWKS_URL])).toContain('.well-known/jwks.json');
    expect(vars[ENV.DEPLOYMENT_NAME]).toBe(deployment);
    expect(vars[ENV.TABLE_NAME]).toEqual({ Ref: logicalId(stack.publisher.registry.table) });
    expect([vars[ENV.JWKS_MAX_AGE], vars[ENV.CDN_MAX_TTL]]).toEqual(['5m', '5m']);
    expect(vars[ENV.BUCKET_NAME]).toBeUndefined();
  });

  it('lets the role read its own secret, Query the registry partition and write its logs, and nothing else', () => {
    const statements = roleStatements(template, canary.handler.role);
    const actions = allowedActions(statements);
    for (const a of actions) {
      expect(a, a).toMatch(
        /^(secretsmanager:(GetSecretValue|DescribeSecret)|logs:(CreateLogStream|PutLogEvents)|dynamodb:Query)$/,
      );
    }
    const secretStatements = statements.filter((s) =>
      asArray(s.Action).some((a) => actionMatches('secretsmanager:*', a)),
    );
    expect(secretStatements.map((s) => s.Resource)).toEqual([{ Ref: secretId }]);
    for (const forbidden of ['s3:GetObject', 's3:ListBucket', 'kms:Sign', 'kms:GetPublicKey']) {
      expect(
        actions.some((a) => actionMatches(a, forbidden)),
        forbidden,
      ).toBe(false);
    }
  });

  it('reads the registry with one Query on the REGISTRY partition: never a CLIENT# item, never a write', () => {
    // Per (action, partition) pairs: test/infra/table-access.test.ts. Here the statement itself.
    const statements = roleStatements(template, canary.handler.role);
    const onTable = statements.filter((st) => asArray(st.Action).some((a) => a.startsWith('dynamodb:')));
    expect(onTable).toEqual([
      expect.objectContaining({
        Action: 'dynamodb:Query',
        Resource: { 'Fn::GetAtt': [logicalId(stack.publisher.registry.table), 'Arn'] },
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [TABLE.REGISTRY_PARTITION] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    ]);
  });

  it('alarms per JWKS path when JwksStalenessSeconds passes cdnMaxTtl + jwksMaxAge + 5 min in 2 of 3 runs', () => {
    const topicId = logicalId(stack.publisher.alarms.topic);
    for (const path of [CANARY_PATHS.CLOUDFRONT_JWKS, CANARY_PATHS.APIGW_JWKS]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS_NAMESPACE,
        MetricName: 'JwksStalenessSeconds',
        Dimensions: [
          { Name: 'Deployment', Value: deployment },
          { Name: 'Path', Value: path },
          { Name: 'service', Value: 'jwks-canary' },
        ],
        Statistic: 'Maximum',
        Period: 300,
        // Default policy: 300 s + 300 s + 300 s.
        Threshold: 900,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        // No document or no registry read: CanarySuccess of the path pages instead.
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
      });
    }
    const staleness = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.MetricName === 'JwksStalenessSeconds',
    );
    expect(staleness).toHaveLength(2);
  });

  it('creates the secret as an empty JSON object: no credential in the template', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      SecretString: '{}',
      Name: `jwks-publisher/${deployment}/canary-client`,
    });
  });

  it('alarms per path on CanarySuccess below 1 in 2 of 3 runs, on the alarm topic', () => {
    const topicId = logicalId(stack.publisher.alarms.topic);
    for (const path of Object.values(CANARY_PATHS)) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS_NAMESPACE,
        MetricName: 'CanarySuccess',
        Dimensions: [
          { Name: 'Deployment', Value: deployment },
          { Name: 'Path', Value: path },
          { Name: 'service', Value: 'jwks-canary' },
        ],
        Statistic: 'Minimum',
        Period: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        // No data on an always-reported path means the canary is not running; the token path reports
        // nothing until a credential is stored.
        TreatMissingData: path === CANARY_PATHS.TOKEN ? 'notBreaching' : 'breaching',
        AlarmActions: [{ Ref: topicId }],
      });
    }
  });

  const make = (canarySchedule: Duration, policy = parsePolicy({}).policy) => {
    const s = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    const table = new dynamodb.Table(s, 'Registry', {
      partitionKey: { name: TABLE.PARTITION_KEY, type: dynamodb.AttributeType.STRING },
    });
    return new JwksCanary(s, 'C', {
      issuer: 'https://jwks.example.com',
      apiJwksUrl: 'https://api.example.com/prod/.well-known/jwks.json',
      deploymentName: 'd',
      alarmTopic: new sns.Topic(s, 'T'),
      registry: { table, policy },
      canarySchedule,
    });
  };

  it('derives the staleness threshold from the policy it is given', () => {
    const c = make(Duration.minutes(5), parsePolicy({ jwksMaxAge: '60s', cdnMaxTtl: '120s' }).policy);
    expect(c.stalenessThreshold.toSeconds()).toBe(60 + 120 + 300);
    Template.fromStack(Stack.of(c)).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'JwksStalenessSeconds',
      Threshold: 480,
    });
  });

  it('takes another schedule, and refuses one that is not whole minutes from 1 to 60', () => {
    const c = make(Duration.minutes(15));
    Template.fromStack(Stack.of(c)).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
    });
    Template.fromStack(Stack.of(c)).hasResourceProperties('AWS::CloudWatch::Alarm', { Period: 900 });
    expect(() => make(Duration.seconds(30))).toThrow(RangeError);
    expect(() => make(Duration.hours(2))).toThrow(RangeError);
  });
});
