/**
 * Stack output names. They are a contract: the CLI's `--stack <name>` mode reads them with
 * `DescribeStacks`, so renaming one breaks every deployed stack's CLI access. The stack declares its
 * outputs at stack scope, so each logical id is exactly the name here (no hash suffix).
 */
export const OUTPUTS = {
  /** `https://<CloudFront domain or custom domain>/.well-known/jwks.json`. */
  JWKS_URL: 'JwksUrl',
  /** `https://<api>.execute-api.<region>.amazonaws.com/<envName>/.well-known/jwks.json`. */
  API_JWKS_URL: 'ApiJwksUrl',
  /** The one issuer (design §2): `https://<CloudFront domain or custom domain>`, no trailing slash. */
  ISSUER_URL: 'IssuerUrl',
  TABLE_NAME: 'TableName',
  BUCKET_NAME: 'BucketName',
  DISTRIBUTION_ID: 'DistributionId',
  /** `*.cloudfront.net` name: the DNS target (CNAME/alias) of a custom domain. */
  DISTRIBUTION_DOMAIN_NAME: 'DistributionDomainName',
  /** Value of the `jwks-publisher:deployment` tag on every KMS key this deployment creates. */
  DEPLOYMENT_NAME: 'DeploymentName',
  ROTATE_FUNCTION_NAME: 'RotateFunctionName',
  PUBLISH_FUNCTION_NAME: 'PublishFunctionName',
  ALARM_TOPIC_ARN: 'AlarmTopicArn',
} as const;

export type OutputName = (typeof OUTPUTS)[keyof typeof OUTPUTS];
