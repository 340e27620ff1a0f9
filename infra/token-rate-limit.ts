/**
 * Optional per-client rate limit of the token endpoint (`tokenRateLimit`): a regional AWS WAF web ACL
 * on the API Gateway stage with one rate-based rule aggregated on the `Authorization` header.
 *
 * Why on the stage and not on CloudFront: a CloudFront web ACL must live in us-east-1, this stack may
 * not; and the stage sees every request, the ones sent straight to execute-api included. CloudFront
 * forwards `Authorization` to it (token-endpoint.ts), so each `client_secret_basic` client is its own
 * aggregation instance. Requests without the header (the JWKS GET/HEAD, `client_secret_post`,
 * `private_key_jwt`) are left out of the count by WAF; a guessing loop that varies the header makes a
 * new instance per guess. Both limits are why the method throttling stays the global guard and why
 * docs/deploy.md recommends an IP-keyed rule on the distribution as well (at the stage, behind
 * CloudFront, the source IP is an edge's, not the client's).
 *
 * Sampled requests are off: WAF would keep whole requests, `Authorization` (the Basic credentials)
 * included, for hours in the console.
 *
 * @see https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-aggregation-options.html
 * @see https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
 */
import { Duration, Names } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { ConfigError } from '../src/errors.ts';

/** WAF's bounds on a rate-based rule's limit, and its evaluation windows (seconds). */
export const TOKEN_RATE_LIMIT_BOUNDS = { min: 10, max: 2_000_000_000 } as const;
const WINDOWS = [60, 120, 300, 600];

export interface TokenRateLimitProps {
  /** The stage serving `POST /oauth2/token`. */
  readonly stage: apigateway.Stage;
  /** Requests per client credential (`Authorization` value) per `window`. */
  readonly limit: number;
  /**
   * WAF evaluation window: 60, 120, 300 or 600 seconds.
   * @default Duration.minutes(5)
   */
  readonly window?: Duration;
}

const BODY_KEY = 'rate-limited';

export class TokenRateLimit extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly association: wafv2.CfnWebACLAssociation;

  constructor(scope: Construct, id: string, props: TokenRateLimitProps) {
    super(scope, id);
    const windowSeconds = (props.window ?? Duration.minutes(5)).toSeconds();
    if (!WINDOWS.includes(windowSeconds)) {
      throw new ConfigError(
        'tokenRateLimitWindow',
        `tokenRateLimitWindow: must be one of ${WINDOWS.join(', ')} s`,
      );
    }
    const metricName = Names.uniqueId(this);
    const visibility = (name: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName: name,
      sampledRequestsEnabled: false,
    });
    this.webAcl = new wafv2.CfnWebACL(this, 'Acl', {
      scope: 'REGIONAL',
      // CloudFormation's pattern for this field allows no parentheses.
      description:
        'JWKS publisher: per-client rate limit of POST /oauth2/token, keyed on the Authorization header',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(metricName),
      customResponseBodies: {
        [BODY_KEY]: {
          contentType: 'APPLICATION_JSON',
          // An OAuth-shaped body, so client libraries still find `error` (RFC 6749 §5.2 has no rate-limit code).
          content: '{"error":"temporarily_unavailable","error_description":"rate limit exceeded"}',
        },
      },
      rules: [
        {
          name: 'TokenRequestsPerClientCredential',
          priority: 0,
          statement: {
            rateBasedStatement: {
              limit: props.limit,
              evaluationWindowSec: windowSeconds,
              aggregateKeyType: 'CUSTOM_KEYS',
              customKeys: [
                { header: { name: 'authorization', textTransformations: [{ priority: 0, type: 'NONE' }] } },
              ],
            },
          },
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: BODY_KEY,
                responseHeaders: [
                  { name: 'retry-after', value: String(windowSeconds) },
                  { name: 'cache-control', value: 'no-store' },
                ],
              },
            },
          },
          visibilityConfig: visibility(`${metricName}-PerClient`),
        },
      ],
    });
    this.association = new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
