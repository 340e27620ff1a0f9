/**
 * One token host name for every region (ADR 0008, `-c tokenDomain=… -c hostedZoneId=… -c
 * hostedZoneName=…`): in each region's stack, an API Gateway regional custom domain for the name (with
 * a certificate of that region, validated in the hosted zone) mapped to the region's stage, and a Route 53
 * latency alias record with a health check, so clients reach the nearest healthy region.
 * POST cannot use CloudFront origin-group failover; DNS can route around a lost region.
 *
 * The health check fetches the stage's JWKS (`/<envName>/.well-known/jwks.json` at the execute-api
 * host): it fails when the region's API or documents bucket does (S3 answers 403/404), not when only the
 * token function does — the token alarms and the canary watch that. `iss` stays the CloudFront issuer.
 * @see https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy-latency.html
 */
import { Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { PATHS } from '../src/constants.ts';

export interface TokenDomainSettings {
  /** The token host name, e.g. `token.example.com`. */
  readonly domainName: string;
  /** The public hosted zone holding it. */
  readonly hostedZoneId: string;
  readonly hostedZoneName: string;
}

export interface TokenDomainProps extends TokenDomainSettings {
  readonly restApi: apigateway.IRestApi;
  readonly stage: apigateway.Stage;
  /** The stage name (the health check's path). */
  readonly envName: string;
}

export class TokenDomain extends Construct {
  readonly domain: apigateway.DomainName;
  readonly healthCheck: route53.HealthCheck;
  /** `https://<domainName>/oauth2/token`. */
  readonly tokenUrl: string;

  constructor(scope: Construct, id: string, props: TokenDomainProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
      hostedZoneId: props.hostedZoneId,
      zoneName: props.hostedZoneName,
    });
    const certificate = new acm.Certificate(this, 'Certificate', {
      domainName: props.domainName,
      validation: acm.CertificateValidation.fromDns(zone),
    });
    this.domain = new apigateway.DomainName(this, 'Domain', {
      domainName: props.domainName,
      certificate,
      endpointType: apigateway.EndpointType.REGIONAL,
      securityPolicy: apigateway.SecurityPolicy.TLS_1_2,
    });
    new apigateway.BasePathMapping(this, 'Mapping', {
      domainName: this.domain,
      restApi: props.restApi,
      stage: props.stage,
    });
    this.healthCheck = new route53.HealthCheck(this, 'Health', {
      type: route53.HealthCheckType.HTTPS,
      fqdn: `${props.restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`,
      resourcePath: `/${props.envName}${PATHS.JWKS}`,
      failureThreshold: 3,
    });
    // A only: a regional custom domain answers IPv4 unless made dual-stack.
    new route53.ARecord(this, 'Latency', {
      zone,
      recordName: props.domainName,
      target: route53.RecordTarget.fromAlias(new targets.ApiGatewayDomain(this.domain)),
      region: stack.region,
      setIdentifier: stack.region,
      healthCheck: this.healthCheck,
    });
    this.tokenUrl = `https://${props.domainName}${PATHS.TOKEN}`;
  }
}
