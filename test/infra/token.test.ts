/**
 * The token endpoint in AWS (infra/token-endpoint.ts, token-rate-limit.ts): what the token function
 * may do (DynamoDB by partition key, KMS only through key policies), how requests reach it (API
 * Gateway proxy method, CloudFront behaviour) and what watches it.
 */
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { describe, expect, it } from 'vitest';
import { clientItemKey, jtiItemKey } from '../../src/adapters/aws/dynamodb-clients.ts';
import { keyItemKey, STATE_KEY } from '../../src/adapters/aws/registry-items.ts';
import { ENV, PATHS, POLICY_ENV, TABLE } from '../../src/constants.ts';
import { allowedActions, allowsItem, logicalId, roleStatements, synth } from './synth.ts';

/** Managed policy ids, as AWS documents them (using-managed-cache-policies / -origin-request-policies). */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';
const ALL_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'];

describe('TokenEndpoint', () => {
  const { stack, template } = synth();
  const json = template.toJSON();
  const token = stack.publisher.token;
  const tokenRoleArn = { 'Fn::GetAtt': [logicalId(token.handler.role), 'Arn'] };
  const statements = roleStatements(template, token.handler.role);
  const envOf = (fn: typeof token.handler.function) =>
    json.Resources[logicalId(fn)].Properties.Environment.Variables as Record<string, unknown>;
  const distributionConfig = () =>
    json.Resources[logicalId(stack.publisher.distribution.distribution)].Properties.DistributionConfig;

  it('runs the token function without --enable-source-maps (hot path), the other functions with it', () => {
    expect(envOf(token.handler.function).NODE_OPTIONS).toBeUndefined();
    expect(envOf(stack.publisher.rotation.handler.function).NODE_OPTIONS).toBe('--enable-source-maps');
  });

  describe('IAM', () => {
    it('grants the token role no KMS action at all, so kms:Sign can only come from key policies', () => {
      const actions = allowedActions(statements);
      expect(actions.length).toBeGreaterThan(0);
      for (const action of actions) expect(action).not.toMatch(/^kms:|^\*$/i);
      const role = json.Resources[logicalId(token.handler.role)].Properties;
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.Policies).toBeUndefined();
    });

    it("names the token role in the rotate function's KEY_SIGNER_ROLE_ARNS", () => {
      expect(envOf(stack.publisher.rotation.handler.function)[ENV.KEY_SIGNER_ROLE_ARNS]).toEqual(
        tokenRoleArn,
      );
      expect(stack.publisher.rotation.keySignerRoleArns).toEqual([token.handler.role.roleArn]);
    });

    it('keeps the token role a signer next to signer roles named in context', () => {
      const custom = synth({ keySignerRoleArns: 'arn:aws:iam::123456789012:role/batch' });
      const env =
        custom.template.toJSON().Resources[logicalId(custom.stack.publisher.rotation.handler.function)]
          .Properties.Environment.Variables;
      expect(JSON.stringify(env[ENV.KEY_SIGNER_ROLE_ARNS])).toContain(
        JSON.stringify({ 'Fn::GetAtt': [logicalId(custom.stack.publisher.token.handler.role), 'Arn'] }),
      );
    });

    it('allows only GetItem and PutItem, on the registry table, each limited by LeadingKeys', () => {
      const dynamo = statements.filter((s) => allowedActions([s]).some((a) => /^dynamodb:/i.test(a)));
      expect(new Set(allowedActions(dynamo))).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:PutItem']));
      const tableArn = { 'Fn::GetAtt': [logicalId(stack.publisher.registry.table), 'Arn'] };
      for (const s of dynamo) {
        expect(s.Resource).toEqual(tableArn);
        expect(s.Condition?.Null).toEqual({ 'dynamodb:LeadingKeys': 'false' });
      }
      const get = dynamo.find((s) => s.Action === 'dynamodb:GetItem');
      expect(get?.Condition?.['ForAllValues:StringLike']).toEqual({
        'dynamodb:LeadingKeys': [TABLE.REGISTRY_PARTITION, 'CLIENT#*'],
      });
      const put = dynamo.find((s) => s.Action === 'dynamodb:PutItem');
      expect(put?.Condition?.['ForAllValues:StringLike']).toEqual({ 'dynamodb:LeadingKeys': ['JTI#*'] });
    });

    it('allows exactly the item reads and writes the token path makes (the adapters’ own key layout)', () => {
      const state = STATE_KEY.pk;
      const client = clientItemKey('orders-service').pk;
      const jti = jtiItemKey('orders-service', 'b1946ac9-2f6a').pk;
      // readState → GetItem STATE; ClientStore.get → GetItem CLIENT#…; useJti → PutItem JTI#….
      expect(allowsItem(statements, 'dynamodb:GetItem', state)).toBe(true);
      expect(allowsItem(statements, 'dynamodb:GetItem', client)).toBe(true);
      expect(allowsItem(statements, 'dynamodb:PutItem', jti)).toBe(true);
      // Registering clients, touching the registry or reading assertion ids is not the endpoint's job.
      expect(allowsItem(statements, 'dynamodb:PutItem', client)).toBe(false);
      expect(allowsItem(statements, 'dynamodb:PutItem', state)).toBe(false);
      expect(allowsItem(statements, 'dynamodb:PutItem', keyItemKey('ref').pk)).toBe(false);
      expect(allowsItem(statements, 'dynamodb:GetItem', jti)).toBe(false);
      expect(allowsItem(statements, 'dynamodb:GetItem', 'OTHER#x')).toBe(false);
      for (const action of [
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:Scan',
      ]) {
        expect(allowedActions(statements)).not.toContain(action);
      }
    });
  });

  describe('function', () => {
    it('runs the token handler with the same table, issuer and policy as the other functions', () => {
      const env = envOf(token.handler.function);
      const rotate = envOf(stack.publisher.rotation.handler.function);
      expect(env[ENV.TABLE_NAME]).toEqual({ Ref: logicalId(stack.publisher.registry.table) });
      expect(env[ENV.ISSUER]).toEqual(rotate[ENV.ISSUER]);
      expect(JSON.stringify(env[ENV.ISSUER])).toContain(logicalId(stack.publisher.distribution.distribution));
      expect(env[ENV.DEPLOYMENT_NAME]).toBe(stack.publisher.settings.deploymentName);
      for (const variable of Object.values(POLICY_ENV))
        expect(env[variable], variable).toEqual(rotate[variable]);
      // Signing needs no key ARNs: the kid and key come from the registry's STATE item.
      expect(env[ENV.KEY_SIGNER_ROLE_ARNS]).toBeUndefined();
    });

    it('has a short timeout and no reserved concurrency (method throttling bounds it)', () => {
      const fn = json.Resources[logicalId(token.handler.function)].Properties;
      expect(fn.Timeout).toBeLessThan(29);
      expect(fn.ReservedConcurrentExecutions).toBeUndefined();
    });
  });

  describe('API Gateway', () => {
    const resources = template.findResources('AWS::ApiGateway::Resource');
    const idOf = (pathPart: string) =>
      Object.entries(resources).find(([, r]) => r.Properties.PathPart === pathPart)?.[0];

    it('integrates POST /oauth2/token as a Lambda proxy (AWS_PROXY) to the token function', () => {
      const oauth2 = idOf('oauth2');
      const tokenResource = idOf('token');
      expect(resources[tokenResource ?? '']?.Properties.ParentId).toEqual({ Ref: oauth2 });
      const [post, ...more] = Object.values(template.findResources('AWS::ApiGateway::Method')).filter(
        (m) => m.Properties.ResourceId?.Ref === tokenResource,
      );
      expect(more).toHaveLength(0);
      expect(post?.Properties).toMatchObject({
        HttpMethod: 'POST',
        AuthorizationType: 'NONE',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(JSON.stringify(post?.Properties.Integration.Uri)).toContain(
        JSON.stringify({ 'Fn::GetAtt': [logicalId(token.handler.function), 'Arn'] }),
      );
    });

    it('lets API Gateway invoke the function for this method only', () => {
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter(
        (p) => p.Properties.FunctionName?.['Fn::GetAtt']?.[0] === logicalId(token.handler.function),
      );
      expect(permissions).toHaveLength(1);
      expect(permissions[0]?.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permissions[0]?.Properties.SourceArn)).toMatch(/\/POST\/oauth2\/token"/);
    });

    it('throttles the method below the stage default and never logs its bodies (client secrets)', () => {
      const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0]?.Properties;
      expect(stage.StageName).toBe('prod');
      expect(stage.MethodSettings).toContainEqual({
        ResourcePath: '/~1oauth2~1token',
        HttpMethod: 'POST',
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
        DataTraceEnabled: false,
        LoggingLevel: 'ERROR',
        MetricsEnabled: true,
      });
    });

    it('takes the method throttling from context when tokenThrottleRate and tokenThrottleBurst are set', () => {
      const custom = synth({ tokenThrottleRate: '20', tokenThrottleBurst: '40' });
      const stage = Object.values(custom.template.findResources('AWS::ApiGateway::Stage'))[0]?.Properties;
      expect(stage.MethodSettings).toContainEqual(
        expect.objectContaining({ HttpMethod: 'POST', ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 }),
      );
    });

    it.each([
      [{ tokenThrottleRate: '0' }, 'tokenThrottleRate'],
      [{ tokenThrottleRate: 'fast' }, 'tokenThrottleRate'],
      [{ tokenThrottleBurst: '2.5' }, 'tokenThrottleBurst'],
      [{ tokenRateLimit: '5' }, 'tokenRateLimit'],
      [{ tokenRateLimit: '100.5' }, 'tokenRateLimit'],
    ])('refuses %j naming the setting', (context, variable) => {
      expect(() => synth(context)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', variable }));
    });
  });

  describe('CloudFront', () => {
    const behaviour = () => {
      const matching = (distributionConfig().CacheBehaviors ?? []).filter(
        (b: { PathPattern: string }) => b.PathPattern === PATHS.TOKEN,
      );
      expect(matching).toHaveLength(1);
      return matching[0];
    };
    const originOf = (config: { Origins: Array<Record<string, unknown>> }, id: string) =>
      config.Origins.find((o) => o.Id === id) ?? {};

    it('sends /oauth2/token to the API Gateway stage over HTTPS only', () => {
      const origin = originOf(distributionConfig(), behaviour().TargetOriginId);
      expect(origin.S3OriginConfig).toBeUndefined();
      const domain = JSON.stringify(origin.DomainName);
      expect(domain).toContain(JSON.stringify({ Ref: logicalId(stack.publisher.api.restApi) }));
      expect(domain).toContain('.execute-api.');
      expect(origin.OriginPath).toBe('/prod');
      expect(origin.CustomOriginConfig).toMatchObject({
        OriginProtocolPolicy: 'https-only',
        OriginSSLProtocols: ['TLSv1.2'],
      });
    });

    it('allows every method, never caches, forwards Authorization (not Host) and never redirects', () => {
      const b = behaviour();
      expect([...b.AllowedMethods].sort()).toEqual([...ALL_METHODS].sort());
      expect(b.CachePolicyId).toBe(CACHING_DISABLED);
      expect(b.CachePolicyId).toBe(cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId);
      expect(b.OriginRequestPolicyId).toBe(ALL_VIEWER_EXCEPT_HOST_HEADER);
      expect(b.ViewerProtocolPolicy).toBe('https-only');
      // The JWKS behaviour stays as it was (GET, HEAD and its CORS preflight).
      expect(distributionConfig().DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD', 'OPTIONS']);
    });

    it('uses the stage of envName as the origin path when envName=dev', () => {
      const dev = synth({ envName: 'dev' });
      const config =
        dev.template.toJSON().Resources[logicalId(dev.stack.publisher.distribution.distribution)].Properties
          .DistributionConfig;
      const b = config.CacheBehaviors.find((c: { PathPattern: string }) => c.PathPattern === PATHS.TOKEN);
      expect(originOf(config, b.TargetOriginId).OriginPath).toBe('/dev');
    });
  });

  describe('alarms', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const topic = { Ref: logicalId(stack.publisher.alarms.topic) };
    const fn = { Ref: logicalId(token.handler.function) };

    it('alarms on token function errors and throttles', () => {
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarms, metric).toContainEqual(
          expect.objectContaining({
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: fn }],
            Statistic: 'Sum',
            Threshold: 1,
            AlarmActions: [topic],
          }),
        );
      }
    });

    it('alarms on 5xx answers of POST /oauth2/token, which the function answers itself', () => {
      const [alarm, ...more] = alarms.filter((a) => a.Namespace === 'AWS/ApiGateway');
      expect(more).toHaveLength(0);
      expect(alarm).toMatchObject({ MetricName: '5XXError', Statistic: 'Sum', AlarmActions: [topic] });
      expect(alarm?.Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'ApiName', Value: stack.publisher.api.restApi.restApiName },
          { Name: 'Method', Value: 'POST' },
          { Name: 'Resource', Value: PATHS.TOKEN },
          { Name: 'Stage', Value: 'prod' },
        ]),
      );
      // The API name is the metric's key: it must differ between stacks in one account.
      expect(stack.publisher.api.restApi.restApiName).toContain(stack.stackName);
    });
  });

  describe('stream consumers', () => {
    it('are not invoked for client and jti writes: only registry-partition records pass the filter', () => {
      const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'));
      expect(mappings).toHaveLength(2);
      for (const mapping of mappings) {
        const filters = mapping.Properties.FilterCriteria.Filters as Array<{ Pattern: string }>;
        expect(filters).toHaveLength(1);
        const pattern = JSON.parse(filters[0]?.Pattern ?? '{}');
        const allowed: string[] = pattern.dynamodb.Keys[TABLE.PARTITION_KEY].S;
        expect(allowed).toEqual([TABLE.REGISTRY_PARTITION]);
        expect(allowed).toContain(STATE_KEY.pk);
        expect(allowed).toContain(keyItemKey('ref').pk);
        expect(allowed).not.toContain(clientItemKey('orders-service').pk);
        expect(allowed).not.toContain(jtiItemKey('orders-service', 'j').pk);
      }
    });
  });

  describe('per-client rate limit (tokenRateLimit)', () => {
    it('adds no web ACL unless tokenRateLimit is set', () => {
      template.resourceCountIs('AWS::WAFv2::WebACL', 0);
      template.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
    });

    it('blocks a client credential over the limit with 429 at the stage when tokenRateLimit=1000', () => {
      const limited = synth({ tokenRateLimit: '1000' });
      const acl = Object.values(limited.template.findResources('AWS::WAFv2::WebACL'))[0]?.Properties;
      expect(acl.Scope).toBe('REGIONAL');
      expect(acl.DefaultAction).toEqual({ Allow: {} });
      const [rule, ...more] = acl.Rules;
      expect(more).toHaveLength(0);
      expect(rule.Statement.RateBasedStatement).toEqual({
        Limit: 1000,
        EvaluationWindowSec: 300,
        AggregateKeyType: 'CUSTOM_KEYS',
        CustomKeys: [
          { Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
        ],
      });
      expect(rule.Action.Block.CustomResponse.ResponseCode).toBe(429);
      const body = acl.CustomResponseBodies[rule.Action.Block.CustomResponse.CustomResponseBodyKey];
      expect(JSON.parse(body.Content)).toHaveProperty('error');
      // WAF would otherwise keep sampled requests, Authorization (Basic credentials) included.
      expect(acl.VisibilityConfig.SampledRequestsEnabled).toBe(false);
      expect(rule.VisibilityConfig.SampledRequestsEnabled).toBe(false);

      const association = Object.values(limited.template.findResources('AWS::WAFv2::WebACLAssociation'))[0]
        ?.Properties;
      const stageArn = JSON.stringify(association.ResourceArn);
      expect(stageArn).toContain(JSON.stringify({ Ref: logicalId(limited.stack.publisher.api.restApi) }));
      expect(stageArn).toContain(JSON.stringify({ Ref: logicalId(limited.stack.publisher.api.stage) }));
      const webAcl = limited.stack.publisher.tokenRateLimit?.webAcl;
      if (!webAcl) throw new Error('no web ACL construct');
      expect(association.WebACLArn).toEqual({ 'Fn::GetAtt': [logicalId(webAcl), 'Arn'] });
    });
  });
});
