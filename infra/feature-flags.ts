/**
 * CDK feature flags this app is written against. Passed as App context by `infra/app.ts` and by the
 * infra tests, so both synthesize the same template (cdk.json and `-c` still take precedence).
 */
export const FEATURE_FLAGS = {
  '@aws-cdk/aws-iam:minimizePolicies': true,
  // Server access logs delivered through a bucket policy on the log bucket, not an ACL grant.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/aws-cloudfront:defaultSecurityPolicyTLSv1.2_2021': true,
} as const;
