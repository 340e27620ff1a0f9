/**
 * API Gateway path to the same JWKS object (design §2, §5): `GET|HEAD /<envName>/.well-known/jwks.json`
 * as an AWS service integration to S3 `GetObject`/`HeadObject`, no Lambda in the path. The token
 * endpoint (token-endpoint.ts) adds `POST /oauth2/token` to the same API and stage; its method
 * settings come in through `methodOptions`, because a stage's method settings are fixed when it is defined.
 *
 * An S3 integration passes S3's status through only where an integration response says so: API
 * Gateway picks the integration response whose `selectionPattern` matches S3's status code and
 * otherwise uses the default one (200). Without the 304 / 4xx / 5xx entries below, an S3 403 or 404
 * (object missing, role wrong) would reach verifiers as a 200 with an XML error body, and a verifier
 * would cache that as "the JWKS".
 */
import { Aws, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { HEADERS, OBJECT_KEYS, PATHS } from '../src/constants.ts';

export interface JwksApiProps {
  readonly bucket: s3.IBucket;
  /** The stage name (validated by `checkEnvName`). */
  readonly envName: string;
  /**
   * Steady-state requests per second for the whole stage.
   * @default 250
   */
  readonly throttlingRateLimit?: number;
  /** @default 500 */
  readonly throttlingBurstLimit?: number;
  /**
   * Create the account-level role API Gateway uses to write logs (`AWS::ApiGateway::Account`). That
   * resource overwrites the region's one account setting (a second stack would take it over, and
   * deleting the stack leaves the setting pointing at a deleted role), so it is off unless asked for:
   * set it true in exactly one stack per account and region, or set the role once with
   * `aws apigateway update-account` (docs/deploy.md). Stage logging fails without it.
   * @default false
   */
  readonly cloudWatchRole?: boolean;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Per-method stage settings, keyed `/<resource path>/<HTTP method>` (the token method's throttling).
   * @default - the stage settings for every method
   */
  readonly methodOptions?: Readonly<Record<string, apigateway.MethodDeploymentOptions>>;
}

/** Response headers every answer declares (method response parameters). */
const HEADER = {
  CONTENT_TYPE: 'method.response.header.Content-Type',
  CACHE_CONTROL: 'method.response.header.Cache-Control',
  ETAG: 'method.response.header.ETag',
  CORS: 'method.response.header.Access-Control-Allow-Origin',
} as const;

/** S3 says "not there / not yours" (403 without s3:ListBucket, 404): the document is unavailable. */
const NOT_FOUND = '404';
/** S3 failed: the gateway's upstream failed. */
const BAD_GATEWAY = '502';

export class JwksApi extends Construct {
  readonly restApi: apigateway.RestApi;
  readonly stage: apigateway.Stage;
  /** The role API Gateway assumes to read the JWKS object, and nothing else. */
  readonly role: iam.Role;
  /** `https://<api>.execute-api.<region>.amazonaws.com/<envName>/.well-known/jwks.json`. */
  readonly jwksUrl: string;

  constructor(scope: Construct, id: string, props: JwksApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const cloudWatchRole = props.cloudWatchRole ?? false;
    this.restApi = new apigateway.RestApi(this, 'Api', {
      // Unique per stack: API Gateway's CloudWatch metrics are keyed by API name and stage, and the
      // token endpoint's 5XX alarm must not count another deployment's requests.
      restApiName: `${Stack.of(this).stackName}-${id}`,
      description: 'JWKS publisher: the JWKS at the stage path (straight from S3) and the token endpoint',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole,
      deployOptions: {
        stageName: props.envName,
        throttlingRateLimit: props.throttlingRateLimit ?? 250,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 500,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Never log bodies: the integration only ever carries the public JWKS, but keep it that way.
        dataTraceEnabled: false,
        metricsEnabled: true,
        ...(props.methodOptions ? { methodOptions: { ...props.methodOptions } } : {}),
      },
    });
    this.stage = this.restApi.deploymentStage;
    // RestApi adds an `Endpoint` output of the stage root; the stack's ApiJwksUrl is the contract.
    this.restApi.node.tryRemoveChild('Endpoint');

    this.role = new iam.Role(this, 'S3ReadRole', {
      // Only API Gateway acting for this account (confused deputy): the service principal is shared.
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      description: 'API Gateway reads the published JWKS object (GetObject/HeadObject), nothing else',
    });
    // s3:GetObject also authorises HeadObject. Deliberately no s3:ListBucket: a missing object is a
    // 403, which the 4xx integration response turns into a 404 for the client.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(OBJECT_KEYS.JWKS)],
      }),
    );

    const resource = this.restApi.root.resourceForPath(PATHS.JWKS);
    for (const method of ['GET', 'HEAD'] as const) {
      const jwksMethod = resource.addMethod(method, this.integration(props.bucket, method), {
        authorizationType: apigateway.AuthorizationType.NONE,
        requestParameters: { 'method.request.header.If-None-Match': false },
        methodResponses: [
          {
            statusCode: '200',
            responseParameters: declared(HEADER.CONTENT_TYPE, HEADER.CACHE_CONTROL, HEADER.ETAG, HEADER.CORS),
          },
          { statusCode: '304', responseParameters: declared(HEADER.CACHE_CONTROL, HEADER.ETAG, HEADER.CORS) },
          {
            statusCode: NOT_FOUND,
            responseParameters: declared(HEADER.CONTENT_TYPE, HEADER.CACHE_CONTROL, HEADER.CORS),
          },
          {
            statusCode: BAD_GATEWAY,
            responseParameters: declared(HEADER.CONTENT_TYPE, HEADER.CACHE_CONTROL, HEADER.CORS),
          },
        ],
      });
      // On the methods, not the API: the token method has its own reasons (token-endpoint.ts).
      Validations.of(jwksMethod).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The JWKS is a public document (RFC 7517, OIDC Discovery): verifiers fetch it without credentials.',
      });
      Validations.of(jwksMethod).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'The JWKS is a public document: there are no users to authenticate with a Cognito authorizer.',
      });
    }
    this.jwksUrl = this.stage.urlForPath(PATHS.JWKS);
    this.acknowledgeFindings(cloudWatchRole);
  }

  private integration(bucket: s3.IBucket, method: 'GET' | 'HEAD'): apigateway.AwsIntegration {
    return new apigateway.AwsIntegration({
      service: 's3',
      integrationHttpMethod: method,
      // Path override: always the one object, whatever the request path (no `{proxy}` to traverse).
      path: `${bucket.bucketName}/${OBJECT_KEYS.JWKS}`,
      options: {
        credentialsRole: this.role,
        // Forward the verifier's validator so S3 answers 304 itself (design §5).
        requestParameters: {
          'integration.request.header.If-None-Match': 'method.request.header.If-None-Match',
        },
        passthroughBehavior: apigateway.PassthroughBehavior.WHEN_NO_MATCH,
        integrationResponses: [
          {
            // Default response (no selectionPattern): S3 2xx. Content-Type, Cache-Control and ETag are
            // the object's own, set by the publisher; without these mappings API Gateway would send
            // `application/json` with no caching headers and no validator.
            statusCode: '200',
            responseParameters: {
              [HEADER.CONTENT_TYPE]: 'integration.response.header.Content-Type',
              [HEADER.CACHE_CONTROL]: 'integration.response.header.Cache-Control',
              [HEADER.ETAG]: 'integration.response.header.ETag',
              [HEADER.CORS]: "'*'",
            },
          },
          {
            // S3's answer to a matching If-None-Match. A 304 must repeat Cache-Control and ETag
            // (RFC 9110 §15.4.5), or the verifier's cache entry is not refreshed.
            selectionPattern: '304',
            statusCode: '304',
            responseParameters: {
              [HEADER.CACHE_CONTROL]: 'integration.response.header.Cache-Control',
              [HEADER.ETAG]: 'integration.response.header.ETag',
              [HEADER.CORS]: "'*'",
            },
          },
          {
            // S3 403/404: the object is missing (no ListBucket → 403) or unreadable. Not a 200, and
            // not cacheable: S3's XML error (with its request ids) is replaced by a small JSON body.
            selectionPattern: '4\\d{2}',
            statusCode: NOT_FOUND,
            responseParameters: errorHeaders(),
            responseTemplates: { [HEADERS.JSON]: '{"error":"not_found"}' },
          },
          {
            selectionPattern: '5\\d{2}',
            statusCode: BAD_GATEWAY,
            responseParameters: errorHeaders(),
            responseTemplates: { [HEADERS.JSON]: '{"error":"upstream_unavailable"}' },
          },
        ],
      },
    });
  }

  private acknowledgeFindings(cloudWatchRole: boolean): void {
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The JWKS methods take no request body and no required parameter: their integration ignores ' +
        'everything but If-None-Match, so a request validator would have nothing to validate.',
    });
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'GET/HEAD of one public S3 object behind stage throttling; a WAF web ACL would add $5/month plus ' +
        'per-request charges and inspect nothing a verifier sends.',
    });
    if (cloudWatchRole) {
      const role = this.restApi.node.findChild('CloudWatchRole');
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level role API Gateway needs for access logging; AWS maintains this policy for exactly ' +
          'that purpose (it is not attached to any of our functions).',
      });
    }
  }
}

const declared = (...headers: string[]): Record<string, boolean> =>
  Object.fromEntries(headers.map((header) => [header, true]));

const errorHeaders = (): Record<string, string> => ({
  [HEADER.CONTENT_TYPE]: `'${HEADERS.JSON}'`,
  [HEADER.CACHE_CONTROL]: "'no-store'",
  [HEADER.CORS]: "'*'",
});
