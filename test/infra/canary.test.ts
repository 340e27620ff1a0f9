import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { JwksCanary } from '../../infra/jwks-canary.ts';
import { CANARY_PATHS, ENV, METRICS_NAMESPACE } from '../../src/constants.ts';
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

  it('gives the function the issuer, the API Gateway JWKS URL and its secret, and no table or bucket', () => {
    const fn = template.findResources('AWS::Lambda::Function')[fnId];
    const vars = fn?.Properties.Environment.Variables;
    expect(vars[ENV.CANARY_SECRET_ARN]).toEqual({ Ref: secretId });
    expect(vars[ENV.ISSUER]).toBeDefined();
    expect(JSON.stringify(vars[ENV.CANARY_API_JWKS_URL])).toContain('.well-known/jwks.json');
    expect(vars[ENV.DEPLOYMENT_NAME]).toBe(deployment);
    expect(vars[ENV.TABLE_NAME]).toBeUndefined();
    expect(vars[ENV.BUCKET_NAME]).toBeUndefined();
  });

  it('lets the role read its own secret and write its logs, and nothing else', () => {
    const statements = roleStatements(template, canary.handler.role);
    const actions = allowedActions(statements);
    for (const a of actions) {
      expect(a, a).toMatch(
        /^(secretsmanager:(GetSecretValue|DescribeSecret)|logs:(CreateLogStream|PutLogEvents))$/,
      );
    }
    const secretStatements = statements.filter((s) =>
      asArray(s.Action).some((a) => actionMatches('secretsmanager:*', a)),
    );
    expect(secretStatements.map((s) => s.Resource)).toEqual([{ Ref: secretId }]);
    for (const forbidden of [
      'dynamodb:GetItem',
      'dynamodb:Query',
      's3:GetObject',
      'kms:Sign',
      'kms:GetPublicKey',
    ]) {
      expect(
        actions.some((a) => actionMatches(a, forbidden)),
        forbidden,
      ).toBe(false);
    }
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

  it('takes another schedule, and refuses one that is not whole minutes from 1 to 60', () => {
    const make = (canarySchedule: Duration) => {
      const s = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
      return new JwksCanary(s, 'C', {
        issuer: 'https://jwks.example.com',
        apiJwksUrl: 'https://api.example.com/prod/.well-known/jwks.json',
        deploymentName: 'd',
        alarmTopic: new sns.Topic(s, 'T'),
        canarySchedule,
      });
    };
    const c = make(Duration.minutes(15));
    Template.fromStack(Stack.of(c)).hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
    });
    Template.fromStack(Stack.of(c)).hasResourceProperties('AWS::CloudWatch::Alarm', { Period: 900 });
    expect(() => make(Duration.seconds(30))).toThrow(RangeError);
    expect(() => make(Duration.hours(2))).toThrow(RangeError);
  });
});
