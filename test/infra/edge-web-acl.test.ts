/**
 * `edgeWebAclArn` (issue 10 §3): a CloudFront-scope web ACL — the per-IP rate limit of the token
 * endpoint that docs/deploy.md creates in us-east-1 — attached to the distribution.
 */
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { stackInputFromContext } from '../../infra/context.ts';
import { resolveSettings } from '../../infra/settings.ts';
import { synth } from './synth.ts';

const ACL =
  'arn:aws:wafv2:us-east-1:123456789012:global/webacl/jwks-token-per-ip/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111'.replace(
    'EXAMPLE11111',
    '0123456789ab',
  );

function codeOf(fn: () => unknown): Record<string, unknown> | undefined {
  try {
    fn();
  } catch (err) {
    return err as Record<string, unknown>;
  }
  return undefined;
}

describe('edgeWebAclArn', () => {
  it('attaches the web ACL to the distribution when set', () => {
    const { template } = synth({ edgeWebAclArn: ACL });
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    expect(distribution?.Properties.DistributionConfig.WebACLId).toBe(ACL);
  });

  it('is read from the CDK context (-c edgeWebAclArn=…)', () => {
    const input = stackInputFromContext(new App({ context: { edgeWebAclArn: ACL } }).node);
    expect(input.props.publisher?.edgeWebAclArn).toBe(ACL);
  });

  it('attaches none by default', () => {
    const { template } = synth();
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    expect(distribution?.Properties.DistributionConfig.WebACLId).toBeUndefined();
  });

  it.each([
    ['a regional web ACL', ACL.replace(':us-east-1:', ':eu-west-1:').replace('global/', 'regional/')],
    ['a global ACL outside us-east-1', ACL.replace(':us-east-1:', ':eu-west-1:')],
    ['a classic WAF id', 'a1b2c3d4-5678-90ab-cdef-0123456789ab'],
    ['an IP set, not a web ACL', ACL.replace('/webacl/', '/ipset/')],
  ])('refuses %s at synth time, naming edgeWebAclArn', (_what, edgeWebAclArn) => {
    expect(codeOf(() => resolveSettings({ deploymentName: 'd', edgeWebAclArn }))).toMatchObject({
      code: 'INVALID_CONFIG',
      variable: 'edgeWebAclArn',
    });
  });
});
