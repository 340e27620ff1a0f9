/**
 * One token host name across regions (`-c tokenDomain=… -c hostedZoneId=… -c hostedZoneName=…`,
 * infra/token-domain.ts): POST cannot fail over in a CloudFront origin group, so DNS routes each
 * client to the nearest healthy region's stage.
 */
import type { Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { define, HOME, ofType, REPLICA, resources } from './multi-region-synth.ts';

describe('one token host name across regions (-c tokenDomain=…)', () => {
  const zone = {
    tokenDomain: 'token.example.com',
    hostedZoneId: 'Z0123456789ABCDEFGHIJ',
    hostedZoneName: 'example.com',
  };
  const { app, stacks } = define({ regions: `${HOME},${REPLICA}`, ...zone });

  it('routes the name to the nearest healthy region: a latency record per region, with a health check on its stage', () => {
    for (const [stack, region] of [
      [stacks.home, HOME],
      [stacks.replicas[0] as Stack, REPLICA],
    ] as const) {
      const all = resources(stack);
      const id = (type: string) => Object.entries(all).find(([, r]) => r.Type === type)?.[0];
      const [domain] = ofType(stack, 'AWS::ApiGateway::DomainName');
      expect(domain?.Properties).toMatchObject({
        DomainName: zone.tokenDomain,
        EndpointConfiguration: { Types: ['REGIONAL'] },
        SecurityPolicy: 'TLS_1_2',
      });
      const [certificate] = ofType(stack, 'AWS::CertificateManager::Certificate');
      expect(certificate?.Properties.DomainValidationOptions).toEqual([
        { DomainName: zone.tokenDomain, HostedZoneId: zone.hostedZoneId },
      ]);
      const [mapping] = ofType(stack, 'AWS::ApiGateway::BasePathMapping');
      expect(mapping?.Properties.RestApiId).toEqual({ Ref: id('AWS::ApiGateway::RestApi') });
      expect(mapping?.Properties.Stage).toEqual({ Ref: id('AWS::ApiGateway::Stage') });

      const [health] = ofType(stack, 'AWS::Route53::HealthCheck');
      expect(health?.Properties.HealthCheckConfig).toMatchObject({
        Type: 'HTTPS',
        ResourcePath: '/prod/.well-known/jwks.json',
      });
      expect(JSON.stringify(health?.Properties.HealthCheckConfig.FullyQualifiedDomainName)).toContain(
        `.execute-api.${region}.`,
      );
      const records = ofType(stack, 'AWS::Route53::RecordSet');
      expect(records).toHaveLength(1);
      expect(records[0]?.Properties).toMatchObject({
        Name: `${zone.tokenDomain}.`,
        Type: 'A',
        Region: region,
        SetIdentifier: region,
        HostedZoneId: zone.hostedZoneId,
        HealthCheckId: { Ref: id('AWS::Route53::HealthCheck') },
      });
    }
  });

  it('leaves no unacknowledged cdk-nag finding', () => {
    expect(new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
  });

  it.each([
    [{ tokenDomain: zone.tokenDomain }, 'hostedZoneId'],
    [{ ...zone, hostedZoneName: 'example.org' }, 'hostedZoneName'],
    [{ ...zone, hostedZoneId: 'not-a-zone' }, 'hostedZoneId'],
    [{ hostedZoneId: zone.hostedZoneId, hostedZoneName: zone.hostedZoneName }, 'tokenDomain'],
  ])('refuses %j naming %s', (context, variable) => {
    expect(() => define({ regions: `${HOME},${REPLICA}`, ...context })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable }),
    );
  });
});
