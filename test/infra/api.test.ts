import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { allowedActions, logicalId, roleStatements, synth } from './synth.ts';

describe('JwksApi', () => {
  const { stack, template } = synth();
  const api = stack.publisher.api;
  const bucketId = logicalId(stack.publisher.storage.bucket);
  const methods = template.findResources('AWS::ApiGateway::Method');
  const method = (verb: string) => {
    const found = Object.values(methods).find((m) => m.Properties.HttpMethod === verb);
    if (!found) throw new Error(`no ${verb} method`);
    return found.Properties;
  };

  it('answers GET and HEAD on /.well-known/jwks.json, POST on /oauth2/token and nothing else', () => {
    expect(
      Object.values(methods)
        .map((m) => m.Properties.HttpMethod)
        .sort(),
    ).toEqual(['GET', 'HEAD', 'POST']);
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'jwks.json' });
    template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '.well-known' });
  });

  it('integrates each method with S3 by path override to exactly the JWKS object, with its own verb', () => {
    for (const verb of ['GET', 'HEAD']) {
      const integration = method(verb).Integration;
      expect(integration.Type).toBe('AWS');
      expect(integration.IntegrationHttpMethod).toBe(verb);
      const uri = integration.Uri['Fn::Join'][1];
      expect(uri).toContain(':s3:path/');
      expect(uri).toContainEqual({ Ref: bucketId });
      expect(uri.at(-1)).toBe(`/${OBJECT_KEYS.JWKS}`);
      expect(integration.Credentials).toEqual({ 'Fn::GetAtt': [logicalId(api.role), 'Arn'] });
    }
  });

  it('lets only API Gateway acting for this account assume the integration role', () => {
    const trust = template.toJSON().Resources[logicalId(api.role)].Properties.AssumeRolePolicyDocument;
    expect(trust.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'apigateway.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
  });

  it('gives the integration role s3:GetObject on the JWKS object and nothing more', () => {
    const statements = roleStatements(template, api.role);
    expect(statements).toHaveLength(1);
    expect(allowedActions(statements)).toEqual(['s3:GetObject']);
    expect(statements[0]?.Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${OBJECT_KEYS.JWKS}`]],
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
      },
    });
  });

  it('forwards If-None-Match to S3', () => {
    for (const verb of ['GET', 'HEAD']) {
      expect(method(verb).RequestParameters).toEqual({ 'method.request.header.If-None-Match': false });
      expect(method(verb).Integration.RequestParameters).toEqual({
        'integration.request.header.If-None-Match': 'method.request.header.If-None-Match',
      });
    }
  });

  it('maps S3 200, 304, 4xx and 5xx to distinct statuses with the caching headers', () => {
    for (const verb of ['GET', 'HEAD']) {
      const responses = method(verb).Integration.IntegrationResponses as Array<Record<string, never>>;
      const by = (pattern: string | undefined) => responses.find((r) => r.SelectionPattern === pattern);
      expect(by(undefined)).toMatchObject({
        StatusCode: '200',
        ResponseParameters: {
          'method.response.header.Content-Type': 'integration.response.header.Content-Type',
          'method.response.header.Cache-Control': 'integration.response.header.Cache-Control',
          'method.response.header.ETag': 'integration.response.header.ETag',
          'method.response.header.Access-Control-Allow-Origin': "'*'",
        },
      });
      expect(by('304')).toMatchObject({
        StatusCode: '304',
        ResponseParameters: {
          'method.response.header.Cache-Control': 'integration.response.header.Cache-Control',
          'method.response.header.ETag': 'integration.response.header.ETag',
        },
      });
      // An S3 error must never surface as a 200, nor be cached. API Gateway matches the pattern
      // against the whole status code.
      const selecting = (status: string) =>
        responses.filter((r) => r.SelectionPattern && new RegExp(`^${r.SelectionPattern}$`).test(status));
      for (const status of ['400', '403', '404', '412', '500', '503']) {
        const [r, ...more] = selecting(status);
        expect(more, status).toHaveLength(0);
        expect(r?.StatusCode, status).toBe(status.startsWith('4') ? '404' : '502');
        expect(r?.ResponseParameters).toMatchObject({ 'method.response.header.Cache-Control': "'no-store'" });
      }
      expect(selecting('200')).toHaveLength(0);
      const declared = (method(verb).MethodResponses as Array<{ StatusCode: string }>).map(
        (r) => r.StatusCode,
      );
      expect(declared.sort()).toEqual(responses.map((r) => r.StatusCode).sort());
    }
  });

  it('declares every mapped header on the method responses', () => {
    for (const verb of ['GET', 'HEAD']) {
      const integration = method(verb).Integration.IntegrationResponses as Array<{
        StatusCode: string;
        ResponseParameters: Record<string, string>;
      }>;
      const declared = method(verb).MethodResponses as Array<{
        StatusCode: string;
        ResponseParameters: Record<string, boolean>;
      }>;
      for (const r of integration) {
        const d = declared.find((m) => m.StatusCode === r.StatusCode);
        expect(Object.keys(d?.ResponseParameters ?? {}).sort()).toEqual(
          Object.keys(r.ResponseParameters).sort(),
        );
      }
    }
  });

  it('names the stage after envName, throttles it and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      AccessLogSetting: Match.objectLike({
        DestinationArn: Match.anyValue(),
        Format: Match.stringLikeRegexp('requestId'),
      }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ResourcePath: '/*',
          HttpMethod: '*',
          ThrottlingRateLimit: 250,
          ThrottlingBurstLimit: 500,
          DataTraceEnabled: false,
        }),
      ]),
    });
  });

  it('names the stage dev when the context says envName=dev', () => {
    const dev = synth({ envName: 'dev' });
    dev.template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'dev' });
    expect(dev.stack.stackName).toBe('JwksPublisher-dev');
  });

  it('leaves the region-wide account setting alone by default and sets it when apiCloudWatchRole=true', () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    synth({ apiCloudWatchRole: 'true' }).template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });
});
