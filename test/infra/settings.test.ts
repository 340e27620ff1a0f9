import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stackInputFromContext } from '../../infra/context.ts';
import { resolveSettings } from '../../infra/settings.ts';
import { ENV, KEY_TAGS } from '../../src/constants.ts';
import { parsePolicy } from '../../src/core/policy.ts';
import { allowing, logicalId, roleStatements, synth } from './synth.ts';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

/** The error a function throws (fails the test if it does not throw). */
function thrown(fn: () => unknown): Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected an error');
}

const fromContext = (context: Record<string, unknown>) => stackInputFromContext(new App({ context }).node);

describe('settings validation', () => {
  it.each(['bad name', 'dev/1', 'a'.repeat(129), 'é'])('rejects envName %j naming envName', (envName) => {
    expect(thrown(() => fromContext({ envName }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'envName',
    });
    expect(thrown(() => resolveSettings({ envName, deploymentName: 'd' }))).toMatchObject({
      variable: 'envName',
    });
  });

  it.each(['dev', 'prod_eu-1', 'A'.repeat(128), '0'])('accepts envName %j as a stage name', (envName) => {
    expect(resolveSettings({ envName, deploymentName: 'd' }).envName).toBe(envName);
  });

  it.each([
    [{ rotationPeriod: 'soon' }, 'rotationPeriod'],
    [{ rotationPeriod: '3d' }, 'prepublishLead'],
    [{ algorithm: 'HS256' }, 'algorithm'],
    [{ kmsDeletionWindow: '3' }, 'kmsDeletionWindow'],
    [{ jwksMaxAge: '3d' }, 'prepublishLead'],
    [{ retention: '10m' }, 'retention'],
  ])('rejects the policy %j naming %s', (policy, setting) => {
    expect(thrown(() => synth(policy))).toMatchObject({ code: 'INVALID_POLICY', setting });
  });

  it.each([
    [{ customDomain: 'jwks.example.com' }, 'certificateArn'],
    [{ certificateArn: CERT }, 'customDomain'],
    [
      { customDomain: 'jwks.example.com', certificateArn: CERT.replace('us-east-1', 'eu-west-1') },
      'certificateArn',
    ],
    [{ customDomain: 'not a domain', certificateArn: CERT }, 'customDomain'],
    [{ alarmEmail: 'ops' }, 'alarmEmail'],
    [{ auditRetention: '12h' }, 'auditRetention'],
    [{ auditRetention: 'forever' }, 'auditRetention'],
    [{ deploymentName: 'has space' }, 'deploymentName'],
    [{ apiCloudWatchRole: 'maybe' }, 'apiCloudWatchRole'],
    [{ stackName: '1-starts-with-digit' }, 'stackName'],
  ])('rejects %j naming %s', (context, variable) => {
    expect(thrown(() => synth(context))).toMatchObject({ code: 'INVALID_CONFIG', variable });
  });

  it('keeps numeric context values (cdk.json) as milliseconds, string ones as durations', () => {
    const { props } = fromContext({ jwksMaxAge: 60_000, rotationPeriod: '10d' });
    expect(props.publisher?.policy).toEqual({ jwksMaxAge: 60_000, rotationPeriod: '10d' });
  });

  it('locks audit records in governance mode unless compliance is asked for, in any case', () => {
    expect(resolveSettings({ deploymentName: 'd' }).auditLockMode).toBe('governance');
    expect(resolveSettings({ deploymentName: 'd', auditLockMode: 'Compliance' }).auditLockMode).toBe(
      'compliance',
    );
    expect(thrown(() => resolveSettings({ deploymentName: 'd', auditLockMode: 'none' }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'auditLockMode',
    });
  });

  it('stores auditRetention in milliseconds for the audit concern, 365 days by default', () => {
    expect(resolveSettings({ deploymentName: 'd' }).auditRetention).toBe(365 * 86_400_000);
    expect(resolveSettings({ deploymentName: 'd', auditRetention: '30d' }).auditRetention).toBe(
      30 * 86_400_000,
    );
  });
});

describe('context overrides', () => {
  it('uses the defaults (prod, DEFAULT_POLICY) without context', () => {
    const { stack } = synth();
    expect(stack.publisher.settings.envName).toBe('prod');
    expect(stack.publisher.settings.policy).toEqual(parsePolicy({}).policy);
    expect(stack.stackName).toBe('JwksPublisher-prod');
  });

  it('applies envName, stackName, deploymentName and policy from context', () => {
    const { stack, template } = synth({
      envName: 'dev',
      stackName: 'Keys',
      deploymentName: 'keys-dev',
      rotationPeriod: '10d',
      prepublishLead: '2d',
      algorithm: 'ES256',
    });
    expect(stack.stackName).toBe('Keys');
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'dev' });
    const rotateId = logicalId(stack.publisher.rotation.handler.function);
    const env = template.toJSON().Resources[rotateId].Properties.Environment.Variables;
    expect(env).toMatchObject({
      [ENV.DEPLOYMENT_NAME]: 'keys-dev',
      [ENV.ROTATION_PERIOD]: '10d',
      [ENV.PREPUBLISH_LEAD]: '2d',
      [ENV.ALGORITHM]: 'ES256',
    });
    const [create] = allowing(
      roleStatements(template, stack.publisher.rotation.handler.role),
      'kms:CreateKey',
    );
    expect(create?.Condition?.StringEquals?.[`aws:RequestTag/${KEY_TAGS.DEPLOYMENT}`]).toBe('keys-dev');
  });

  it('turns policy warnings into CDK warnings when prepublishLead is under 24h', () => {
    const { stack } = synth({ prepublishLead: '12h' });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('prepublishLead 12h is under 24h'));
    expect(Annotations.fromStack(synth().stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});
