/**
 * Deployable twice (issue 10 §4): two stacks in one assembly — two environments in one account and
 * region, or one stack name in two regions of one account — name no account-global resource alike.
 */
import { App, type Environment, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stackInputFromContext } from '../../infra/context.ts';
import { FEATURE_FLAGS } from '../../infra/feature-flags.ts';
import { JwksPublisherStack } from '../../infra/jwks-publisher-stack.ts';
import { defineStacks } from '../../infra/multi-region.ts';

/** Resource types whose names are unique per account (CloudFront, its WAF scope) or per region, and where they are. */
const NAME_PATHS: Record<string, string[]> = {
  'AWS::CloudFront::CachePolicy': ['CachePolicyConfig', 'Name'],
  'AWS::CloudFront::ResponseHeadersPolicy': ['ResponseHeadersPolicyConfig', 'Name'],
  'AWS::CloudFront::OriginRequestPolicy': ['OriginRequestPolicyConfig', 'Name'],
  'AWS::CloudFront::OriginAccessControl': ['OriginAccessControlConfig', 'Name'],
  'AWS::CloudFront::Function': ['Name'],
  'AWS::WAFv2::WebACL': ['Name'],
  'AWS::CloudWatch::Dashboard': ['DashboardName'],
  'AWS::CloudWatch::Alarm': ['AlarmName'],
  'AWS::IAM::Role': ['RoleName'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::Lambda::Function': ['FunctionName'],
  'AWS::DynamoDB::Table': ['TableName'],
  'AWS::SNS::Topic': ['TopicName'],
  'AWS::SQS::Queue': ['QueueName'],
  'AWS::Events::Rule': ['Name'],
  'AWS::KMS::Alias': ['AliasName'],
};
/** Types CloudFormation requires a name for: each must carry one. */
const NAME_REQUIRED = Object.keys(NAME_PATHS).filter((t) => t.startsWith('AWS::CloudFront::'));

/** A name as deployed: pseudo parameters resolved for the stack, joins joined. */
function resolve(value: unknown, stack: Stack, region: string): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v.Ref === 'AWS::StackName') return stack.stackName;
  if (v.Ref === 'AWS::Region') return region;
  if (Array.isArray(v['Fn::Join'])) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolve(p, stack, region)).join(sep);
  }
  throw new Error(`cannot tell the deployed name of ${JSON.stringify(value)}`);
}

function globalNames(stack: Stack, region: string): string[] {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Type: string; Properties?: Record<string, unknown> }
  >;
  const names: string[] = [];
  for (const r of Object.values(resources)) {
    const path = NAME_PATHS[r.Type];
    if (!path) continue;
    const value = path.reduce<unknown>(
      (o, k) => (o as Record<string, unknown> | undefined)?.[k],
      r.Properties,
    );
    if (value === undefined) {
      expect(NAME_REQUIRED, `${r.Type} without a name`).not.toContain(r.Type);
      continue;
    }
    names.push(`${r.Type} ${resolve(value, stack, region)}`);
  }
  return names;
}

const app = () => new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] } });
const ACCOUNT = '111122223333';

describe('two stacks in one account', () => {
  it('name nothing alike when they are two environments in one region', () => {
    const a = app();
    const env: Environment = { account: ACCOUNT, region: 'eu-west-1' };
    const prod = new JwksPublisherStack(a, 'JwksPublisher-prod', { env, publisher: { envName: 'prod' } });
    const dev = new JwksPublisherStack(a, 'JwksPublisher-dev', { env, publisher: { envName: 'dev' } });
    const names = [...globalNames(prod, 'eu-west-1'), ...globalNames(dev, 'eu-west-1')];
    expect(names.filter((n) => n.startsWith('AWS::CloudFront::')).length).toBe(6);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('name nothing alike when they are the same stack name in two regions', () => {
    const a = app();
    const east = new JwksPublisherStack(a, 'East', {
      stackName: 'JwksPublisher-prod',
      env: { account: ACCOUNT, region: 'us-east-1' },
    });
    const west = new JwksPublisherStack(a, 'West', {
      stackName: 'JwksPublisher-prod',
      env: { account: ACCOUNT, region: 'eu-west-1' },
    });
    const names = [...globalNames(east, 'us-east-1'), ...globalNames(west, 'eu-west-1')];
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    const synthesized = a.synth();
    expect(synthesized.stacks.map((s) => s.stackName)).toEqual(['JwksPublisher-prod', 'JwksPublisher-prod']);
  });

  it('name nothing alike across the stacks of two multi-region deployments (prod and dev, same regions)', () => {
    const names: string[] = [];
    for (const envName of ['prod', 'dev']) {
      const scope = new App({
        context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [], envName, regions: 'eu-west-1,us-east-1' },
      });
      const { home, replicas, bases } = defineStacks(scope, stackInputFromContext(scope.node), {
        account: ACCOUNT,
      });
      for (const stack of [home, ...replicas, ...bases]) names.push(...globalNames(stack, stack.region));
    }
    // Per deployment: 3 CloudFront names in the home stack, 6 key-policy roles, 1 documents bucket.
    expect(names.filter((n) => n.startsWith('AWS::IAM::Role')).length).toBe(12);
    expect(names.filter((n) => n.startsWith('AWS::S3::Bucket')).length).toBe(2);
    expect(names.filter((n) => n.startsWith('AWS::CloudFront::')).length).toBe(6);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('keep two long stack names apart when they share their first 60 characters', () => {
    const a = app();
    const base = `JwksPublisher-${'x'.repeat(60)}`;
    const one = new JwksPublisherStack(a, 'One', { stackName: `${base}-one` });
    const two = new JwksPublisherStack(a, 'Two', { stackName: `${base}-two` });
    const names = [...globalNames(one, 'r'), ...globalNames(two, 'r')];
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('leave the region-wide API Gateway account setting alone unless asked (apiCloudWatchRole)', () => {
    const a = app();
    const plain = new JwksPublisherStack(a, 'Plain');
    const asked = new JwksPublisherStack(a, 'Asked', { publisher: { apiCloudWatchRole: true } });
    expect(Template.fromStack(plain).findResources('AWS::ApiGateway::Account')).toEqual({});
    expect(Object.keys(Template.fromStack(asked).findResources('AWS::ApiGateway::Account'))).toHaveLength(1);
  });
});

describe('stack-wide tags', () => {
  it('tags every taggable resource with the application, the environment and the deployment', () => {
    const a = app();
    const stack = new JwksPublisherStack(a, 'JwksPublisher-dev', { publisher: { envName: 'dev' } });
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Type: string; Properties?: { Tags?: Array<{ Key: string; Value: string }> } }
    >;
    for (const type of [
      'AWS::Lambda::Function',
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::KMS::Key',
    ]) {
      // The CDK trigger's provider (first-reconcile.ts) is a plain CfnResource: Tags.of cannot reach it.
      const tagged = Object.entries(resources)
        .filter(([id, r]) => r.Type === type && !id.startsWith('AWSCDKTrigger'))
        .map(([, r]) => r);
      expect(tagged.length, type).toBeGreaterThan(0);
      for (const r of tagged) {
        expect(r.Properties?.Tags, type).toEqual(
          expect.arrayContaining([
            { Key: 'jwks-publisher:application', Value: 'jwks-publisher' },
            { Key: 'jwks-publisher:environment', Value: 'dev' },
            { Key: 'jwks-publisher:stack-deployment', Value: 'JwksPublisher-dev' },
          ]),
        );
      }
    }
  });
});
