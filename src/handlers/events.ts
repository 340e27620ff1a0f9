/**
 * Lambda entry of the events consumer (DynamoDB Stream, ReportBatchItemFailures; design §6): every
 * key record becomes one audit object in the audit bucket and, on a status change, one SNS event.
 * Configuration is read and SDK clients are built once, at cold start; a missing variable fails the
 * cold start with its name.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createS3Client, createSnsClient } from '../adapters/aws/clients.ts';
import { S3ObjectStore } from '../adapters/aws/s3.ts';
import { SnsEventBus } from '../adapters/aws/sns.ts';
import { requireEnv } from '../config.ts';
import { ENV, METRIC_DIMENSIONS, METRICS_NAMESPACE, PATHS, SERVICE_NAMES } from '../constants.ts';
import { AuditLog } from '../events/audit-log.ts';
import { createEventsHandler } from './events-handler.ts';

const env = process.env;
const topicArn = requireEnv(env, ENV.TOPIC_ARN);
const auditBucket = requireEnv(env, ENV.AUDIT_BUCKET_NAME);
/** Events name the JWKS URL subscribers should refetch: the one issuer's (design §2). */
const issuer = requireEnv(env, ENV.ISSUER);
const deploymentName = requireEnv(env, ENV.DEPLOYMENT_NAME);

const logger = new Logger({ serviceName: SERVICE_NAMES.EVENTS });
// Dimensions shared with the alarm (infra/jwks-alarms.ts): Deployment and Powertools' `service`.
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAMES.EVENTS,
  defaultDimensions: { [METRIC_DIMENSIONS.DEPLOYMENT]: deploymentName },
});

export const handler = createEventsHandler({
  bus: new SnsEventBus({ client: createSnsClient(), topicArn }),
  audit: new AuditLog({ store: new S3ObjectStore({ client: createS3Client(), bucket: auditBucket }) }),
  jwksUri: `${issuer}${PATHS.JWKS}`,
  log: logger,
  metrics,
});
