/**
 * The token endpoint in AWS (design §2, issue 5): the `token` Lambda behind the REST API's
 * `POST /oauth2/token` (Lambda proxy integration, the same stage as the JWKS), reached at the issuer's
 * origin through a CloudFront behaviour for `/oauth2/token` to the API Gateway origin, never cached.
 *
 * Permissions of the function's role:
 * - DynamoDB, limited by partition key (`dynamodb:LeadingKeys`) to exactly what the token path does:
 *   GetItem on the registry partition (the STATE item the Signer reads at most once per
 *   `signerCacheTtl`) and on `CLIENT#*` (client records); PutItem on `JTI#*` (single-use client
 *   assertion ids, `private_key_jwt`). Nothing else: no Query, no Scan, no UpdateItem, no delete.
 * - KMS: nothing in IAM. `kms:Sign` comes only from each key's own policy, which names this role
 *   because `JwksPublisher` passes it to `rotation.addKeySigner` (KEY_SIGNER_ROLE_ARNS). So the
 *   function signs with this deployment's keys and no other, and no identity policy grants Sign.
 *
 * No reserved concurrency: the method throttling below bounds what reaches the function (at
 * ~50 ms a warm token, 100 requests/s keep about 5 executions busy), and it applies to CloudFront and
 * direct execute-api calls alike. A reservation would take capacity from the account pool for good
 * and fails the deploy in accounts still at the new-account concurrency limit (Lambda refuses one
 * that leaves under 100 unreserved). docs/deploy.md says how to add one.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 * @see https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV, PATHS, TABLE } from '../src/constants.ts';
import { HandlerFunction } from './handler-function.ts';
import { grantPartitions, ITEM_PARTITIONS } from './table-access.ts';

/** Throttling of `POST /oauth2/token` at the stage (requests per second, bucket size). */
export interface TokenThrottling {
  /** @default 100 */
  readonly rateLimit?: number;
  /** @default 200 */
  readonly burstLimit?: number;
}

export const DEFAULT_TOKEN_THROTTLING = { rateLimit: 100, burstLimit: 200 } as const;

/**
 * The stage's method settings for `POST /oauth2/token`, for `JwksApi`'s `methodOptions`: a stage's
 * method settings are fixed when the stage is defined, before this construct adds the method.
 */
export function tokenMethodOptions(
  throttling: TokenThrottling = {},
): Record<string, apigateway.MethodDeploymentOptions> {
  return {
    [`${PATHS.TOKEN}/POST`]: {
      // The global guard in front of KMS: 100 Sign/s is a fifth of KMS's default shared RSA quota.
      throttlingRateLimit: throttling.rateLimit ?? DEFAULT_TOKEN_THROTTLING.rateLimit,
      throttlingBurstLimit: throttling.burstLimit ?? DEFAULT_TOKEN_THROTTLING.burstLimit,
      // Request bodies carry client secrets and assertions: never in execution logs. Set on the
      // method itself so the override cannot inherit anything else.
      dataTraceEnabled: false,
      loggingLevel: apigateway.MethodLoggingLevel.ERROR,
      metricsEnabled: true,
    },
  };
}

/**
 * The API's execute-api host from its id alone: `restApi.url` names the stage, which depends on its
 * deployment, the deployment on the token method, the method on the function: a cycle for anything
 * the function (its environment) or the distribution (ISSUER) needs.
 */
function executeApiHost(scope: Construct, restApi: apigateway.IRestApi): string {
  const stack = Stack.of(scope);
  return `${restApi.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
}

export interface TokenEndpointProps {
  /** The registry table (clients, `jti`s and the STATE item live in it). */
  readonly table: dynamodb.ITable;
  /** The REST API whose stage serves the JWKS; the method is added to it. */
  readonly restApi: apigateway.RestApi;
  /** The stage name: the API origin's path. */
  readonly envName: string;
  /**
   * The issuer's distribution: the `/oauth2/token` behaviour is added to it. A multi-region
   * deployment's replica regions leave it out: the behaviour points at the home region's API (POST
   * cannot fail over in an origin group, ADR 0008).
   */
  readonly distribution?: cloudfront.Distribution;
  /** Environment shared by all handlers (TABLE_NAME, DEPLOYMENT_NAME, ISSUER, the policy). */
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention?: logs.RetentionDays;
  /**
   * Multi-region: give the function its own execute-api URL (TOKEN_ENDPOINT_URL), the assertion
   * audience only this region accepts (src/token/assertion-audience.ts, ADR 0008).
   */
  readonly regionalAudience?: boolean;
  /** HandlerFunction options for the role (a multi-region deployment's named or imported role). */
  readonly role?: { readonly roleName?: string; readonly role?: iam.IRole };
}

export class TokenEndpoint extends Construct {
  readonly handler: HandlerFunction;
  readonly method: apigateway.Method;
  /** `5XXError` of `POST /oauth2/token` at the stage: `server_error` and `temporarily_unavailable`. */
  readonly serverErrors: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: TokenEndpointProps) {
    super(scope, id);
    this.handler = new HandlerFunction(this, 'Token', {
      handler: 'token',
      description: 'JWKS publisher: OAuth 2.0 client credentials token endpoint (POST /oauth2/token)',
      // A token takes a KMS Sign and at most two DynamoDB reads: fail fast, well inside API Gateway's 29 s.
      timeout: Duration.seconds(10),
      // CPU scales with memory: scrypt (every unknown or wrong secret pays it in full) and the
      // warm-up's dummy keys finish ~4× sooner than at 256 MB, so failed attempts hold less concurrency.
      memorySize: 1024,
      // The hot path: no source-map parsing at cold start or on logged errors (handler-function.ts).
      sourceMaps: false,
      environment: props.environment,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...props.role,
    });
    this.grantTokenItems(props.table);
    if (props.regionalAudience) {
      this.handler.function.addEnvironment(
        ENV.TOKEN_ENDPOINT_URL,
        `https://${executeApiHost(this, props.restApi)}/${props.envName}${PATHS.TOKEN}`,
      );
    }

    const resource = props.restApi.root.resourceForPath(PATHS.TOKEN);
    this.method = resource.addMethod(
      'POST',
      new apigateway.LambdaIntegration(this.handler.function, { proxy: true, allowTestInvoke: false }),
      { authorizationType: apigateway.AuthorizationType.NONE },
    );
    this.serverErrors = new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: '5XXError',
      dimensionsMap: {
        ApiName: props.restApi.restApiName,
        Method: 'POST',
        Resource: PATHS.TOKEN,
        Stage: props.envName,
      },
      statistic: 'Sum',
      period: Duration.minutes(5),
    });

    if (props.distribution) this.addEdgeBehaviour(props.distribution, props.restApi, props.envName);
    this.acknowledgeFindings(props.restApi);
  }

  /** The `/oauth2/token` behaviour of the issuer's distribution, to this region's API. */
  private addEdgeBehaviour(
    distribution: cloudfront.Distribution,
    restApi: apigateway.RestApi,
    envName: string,
  ): void {
    // Not RestApiOrigin: it takes its host and path from `restApi.url`, which names the stage; the
    // stage depends on its deployment, the deployment on this method, the method on the function and
    // the function on the distribution (ISSUER): a cycle. The execute-api host needs the API id only.
    const apiOrigin = new origins.HttpOrigin(executeApiHost(this, restApi), {
      originPath: `/${envName}`,
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
      originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    });
    distribution.addBehavior(PATHS.TOKEN, apiOrigin, {
      allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
      // Never a redirect (a 301 to https would turn a client's POST into a GET elsewhere).
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
      // The body always reaches the origin. `Authorization` (client_secret_basic) cannot be named in an
      // origin request policy, but with caching disabled the AllViewer policies forward it; this one
      // keeps the viewer's Host away from API Gateway, which answers a foreign Host with 403.
      // @see https://repost.aws/knowledge-center/cloudfront-authorization-header
      // @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
      originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      // No CORS: browsers never hold client secrets. HSTS, nosniff, frame and referrer headers only.
      responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      compress: false,
    });
  }

  /** GetItem and PutItem on the token path's own partitions only. */
  private grantTokenItems(table: dynamodb.ITable): void {
    // The registry partition holds STATE (and the key items, public by design); LeadingKeys cannot
    // narrow by sort key.
    grantPartitions(this.handler.role, table, {
      sid: 'ReadSignerStateAndClients',
      actions: ['dynamodb:GetItem'],
      partitions: [TABLE.REGISTRY_PARTITION, ITEM_PARTITIONS.CLIENT],
    });
    grantPartitions(this.handler.role, table, {
      sid: 'RecordClientAssertionIds',
      actions: ['dynamodb:PutItem'],
      partitions: [ITEM_PARTITIONS.JTI],
    });
  }

  private acknowledgeFindings(restApi: apigateway.RestApi): void {
    Validations.of(this.method).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'This is the OAuth 2.0 authorization server: clients authenticate with the RFC 6749 client ' +
        'credentials (client_secret_basic/post, private_key_jwt) the function verifies. An API Gateway ' +
        'authorizer would need the same credentials and would answer failures with non-OAuth errors.',
    });
    Validations.of(this.method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'The callers are machine clients registered in the registry table, not Cognito users; the endpoint ' +
        'authenticates them itself (RFC 6749 §2.3, RFC 7523).',
    });
    Validations.of(restApi).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'POST /oauth2/token validates its form body itself so that every rejection is an RFC 6749 §5.2 JSON ' +
        'error with the right status; an API Gateway request validator would answer with its own non-OAuth body.',
    });
    Validations.of(restApi).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No web ACL on the stage unless tokenRateLimit is set (then a regional one with a per-client rate-based ' +
        'rule is associated, token-rate-limit.ts): the POST /oauth2/token method throttling is the global guard, ' +
        'and a web ACL costs $5/month plus $1 per rule and $0.60 per million requests (docs/deploy.md).',
    });
  }
}
