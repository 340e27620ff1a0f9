/**
 * cdk-nag 3 reports through CDK's policy validation (not annotations, as cdk-nag 2 did), so the
 * findings are read from the pack itself (`validateScope`) and from `app.synth()`, which is what
 * `cdk synth` runs.
 */
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { enableNag } from '../../infra/nag.ts';
import { build } from './synth.ts';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012';

const findings = (context: Record<string, unknown>) => {
  const { app } = build(context);
  return new AwsSolutionsChecks().validateScope(app).violations.map((v) => ({
    rule: v.ruleName,
    severity: v.severity,
    at: v.violatingResources.map((r) => r.constructPath),
  }));
};

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['the defaults', {}],
    [
      'a custom domain and alarm e-mail',
      { customDomain: 'jwks.example.com', certificateArn: CERT, alarmEmail: 'a@b.co' },
    ],
    ['no API Gateway account role', { apiCloudWatchRole: 'false', envName: 'dev' }],
    ['the API Gateway account role', { apiCloudWatchRole: 'true' }],
    ['a per-client token rate limit (web ACL on the stage)', { tokenRateLimit: '1000' }],
    [
      'a per-IP web ACL at the edge',
      {
        edgeWebAclArn:
          'arn:aws:wafv2:us-east-1:123456789012:global/webacl/per-ip/a1b2c3d4-5678-90ab-cdef-0123456789ab',
      },
    ],
  ])('leaves no unacknowledged error or warning with %s', (_name, context) => {
    expect(findings(context)).toEqual([]);
  });

  it('lets the real synthesis pass with the pack registered and no CDK error or warning annotations', () => {
    const { app, stack } = build();
    enableNag(app);
    expect(() => app.synth()).not.toThrow();
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual(
      [],
    );
  });

  it('fails the synthesis when a resource breaks a rule and nobody acknowledged it', () => {
    const { app, stack } = build();
    new s3.Bucket(stack, 'Unguarded', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
    enableNag(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });
});
