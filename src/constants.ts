/**
 * Plain constants shared by `src/` and `infra/` so that the two cannot drift.
 * This is the only module `infra/` imports from `src/`: it must stay free of I/O and of SDK imports.
 */

/** Environment variable names read by the Lambda handlers at cold start. */
export const ENV = {
  /** DynamoDB key registry table name. */
  TABLE_NAME: 'TABLE_NAME',
  /** S3 bucket holding `.well-known/jwks.json`, the discovery documents and the revocation list. */
  BUCKET_NAME: 'BUCKET_NAME',
  /** CloudFront distribution id to invalidate after a changed write. */
  DISTRIBUTION_ID: 'DISTRIBUTION_ID',
  /** Deployment name: the value of the deployment tag on every KMS key this deployment creates. */
  DEPLOYMENT_NAME: 'DEPLOYMENT_NAME',
  /** Canonical issuer base URL (CloudFront domain or custom domain), no trailing slash. */
  ISSUER: 'ISSUER',
  /** ARN of the rotation function's role: named in every key policy as the key's administrator. */
  KEY_ADMIN_ROLE_ARN: 'KEY_ADMIN_ROLE_ARN',
  /** Comma-separated role ARNs that may `kms:Sign` with this deployment's keys. */
  KEY_SIGNER_ROLE_ARNS: 'KEY_SIGNER_ROLE_ARNS',
  /** Comma-separated role ARNs that may read public keys (`kms:GetPublicKey`, `kms:DescribeKey`). */
  KEY_READER_ROLE_ARNS: 'KEY_READER_ROLE_ARNS',
  /** SNS topic for lifecycle events. */
  TOPIC_ARN: 'TOPIC_ARN',
  /** S3 bucket for the audit trail. */
  AUDIT_BUCKET_NAME: 'AUDIT_BUCKET_NAME',
  /** Lifecycle policy (design §3); durations like `30d`, `48h`, `10m`, `30s`. */
  ROTATION_PERIOD: 'ROTATION_PERIOD',
  PREPUBLISH_LEAD: 'PREPUBLISH_LEAD',
  RETENTION: 'RETENTION',
  MAX_TOKEN_TTL: 'MAX_TOKEN_TTL',
  CLOCK_SKEW: 'CLOCK_SKEW',
  SIGNER_CACHE_TTL: 'SIGNER_CACHE_TTL',
  JWKS_MAX_AGE: 'JWKS_MAX_AGE',
  CDN_MAX_TTL: 'CDN_MAX_TTL',
  ALGORITHM: 'ALGORITHM',
  KMS_DELETION_WINDOW: 'KMS_DELETION_WINDOW',
  /** How old a CREATING intent must be before the reconciler abandons it (> the rotate timeout). */
  INTENT_TIMEOUT: 'INTENT_TIMEOUT',
  /**
   * Every region of the deployment, comma-separated, the initial primary first (design §12, ADR 0008).
   * Unset or one entry: a single-region deployment, exactly as before multi-region existed.
   */
  REGIONS: 'REGIONS',
  /** The region this function runs in. Lambda sets it itself (a reserved variable); the local stack sets it per region. */
  REGION: 'AWS_REGION',
  /**
   * Multi-region key policies (ADR 0008): JSON `{"<region>": {"adminRoleArns": [...], "signerRoleArns":
   * [...], "readerRoleArns": [...]}}` for every region of REGIONS. Each region's replica of a key gets
   * the policy of its region: every region's rotate role administers (any may be promoted), only that
   * region's token role signs, only its publish/canary roles read. Roles have deterministic names, so
   * the ARNs are known without cross-region references. Unset in a single region.
   */
  REGION_KEY_POLICIES: 'REGION_KEY_POLICIES',
  /** Policy: the longest replication delay of the global table the lifecycle allows for (design §12). */
  MAX_REPLICATION_LAG: 'MAX_REPLICATION_LAG',
  /** The canary: the API Gateway JWKS URL it probes besides the issuer's (CloudFront) paths. */
  CANARY_API_JWKS_URL: 'CANARY_API_JWKS_URL',
  /** The canary: Secrets Manager secret holding its client's credential (`{"client_id","client_secret"}`). */
  CANARY_SECRET_ARN: 'CANARY_SECRET_ARN',
  /**
   * The token function, multi-region only: this region's own token endpoint URL (its API stage's
   * execute-api URL + `/oauth2/token`), the one `aud` a client assertion for this region names
   * (src/token/assertion-audience.ts, ADR 0008).
   */
  TOKEN_ENDPOINT_URL: 'TOKEN_ENDPOINT_URL',
} as const;

/** Maps each policy setting to the environment variable that carries it. */
export const POLICY_ENV = {
  rotationPeriod: ENV.ROTATION_PERIOD,
  prepublishLead: ENV.PREPUBLISH_LEAD,
  retention: ENV.RETENTION,
  maxTokenTtl: ENV.MAX_TOKEN_TTL,
  clockSkew: ENV.CLOCK_SKEW,
  signerCacheTtl: ENV.SIGNER_CACHE_TTL,
  jwksMaxAge: ENV.JWKS_MAX_AGE,
  cdnMaxTtl: ENV.CDN_MAX_TTL,
  algorithm: ENV.ALGORITHM,
  kmsDeletionWindow: ENV.KMS_DELETION_WINDOW,
  intentTimeout: ENV.INTENT_TIMEOUT,
  maxReplicationLag: ENV.MAX_REPLICATION_LAG,
} as const;

/** S3 object keys (no leading slash) and the URL paths they are served at (with one). */
export const OBJECT_KEYS = {
  JWKS: '.well-known/jwks.json',
  OAUTH_METADATA: '.well-known/oauth-authorization-server',
  OPENID_CONFIGURATION: '.well-known/openid-configuration',
  /** Prefix of the append-only revocation list: one object per revoked kid. */
  REVOCATIONS_PREFIX: 'revocations/',
} as const;

export const PATHS = {
  JWKS: `/${OBJECT_KEYS.JWKS}`,
  OAUTH_METADATA: `/${OBJECT_KEYS.OAUTH_METADATA}`,
  OPENID_CONFIGURATION: `/${OBJECT_KEYS.OPENID_CONFIGURATION}`,
  TOKEN: '/oauth2/token',
} as const;

/** S3 user metadata names (sent as `x-amz-meta-<name>`). */
export const OBJECT_METADATA = {
  /** Registry version the object was rendered from; the write protocol never lets an older one win. */
  REGISTRY_VERSION: 'registry-version',
  /** SHA-256 (hex) of the body, so "bytes equal" is decided from a HEAD without a GET. */
  BODY_SHA256: 'body-sha256',
} as const;

/** Tags put on every KMS key this deployment creates (design §3 invariant 7). */
export const KEY_TAGS = {
  DEPLOYMENT: 'jwks-publisher:deployment',
  KEY_REF: 'jwks-publisher:key-ref',
} as const;

/** Header values. */
export const HEADERS = {
  JSON: 'application/json',
  JWK_SET: 'application/jwk-set+json',
} as const;

/** Registry table schema: one partition for the key registry (so one consistent Query reads it all). */
export const TABLE = {
  PARTITION_KEY: 'pk',
  SORT_KEY: 'sk',
  /** Attribute DynamoDB TTL deletes on (client-assertion `jti` replay items). */
  TTL_ATTRIBUTE: 'ttl',
  REGISTRY_PARTITION: 'REGISTRY',
  STATE_SORT_KEY: 'STATE',
  KEY_SORT_PREFIX: 'KEY#',
  /**
   * `PUBLISHED#<region>#<keyRef>`: one region's publisher saw the key in the JWKS it wrote to its own
   * bucket. Written only by that region (never a KEY item, which only the primary writes), so global
   * table replication never has two writers for one item (ADR 0008).
   */
  PUBLICATION_SORT_PREFIX: 'PUBLISHED#',
  /** `PROMOTION#<epoch>`: written once by `promote-region`; the highest epoch names the primary region. */
  PROMOTION_SORT_PREFIX: 'PROMOTION#',
  /**
   * `pk = HEARTBEAT#<region>`, `sk = HEARTBEAT`: that region's rotate function writes it on every run
   * (only that region), and every other region reads its age in its own replica (issue 20 §4). A
   * partition of its own per region, outside `REGISTRY`: registry reads and the stream consumers never
   * see it, and IAM can let a region write its own heartbeat and nothing else (`dynamodb:LeadingKeys`).
   */
  HEARTBEAT_PARTITION_PREFIX: 'HEARTBEAT#',
  HEARTBEAT_SORT_KEY: 'HEARTBEAT',
} as const;

/** The attributes a heartbeat write names (the adapter's item; infra's `dynamodb:Attributes` grant). */
export const HEARTBEAT_ATTRIBUTES = ['pk', 'sk', 'region', 'beatAt'] as const;

/** CloudWatch metric namespace used by the handlers and the alarms. */
export const METRICS_NAMESPACE = 'JwksPublisher';

/** Custom metrics the handlers emit (Powertools Metrics, EMF) and the alarms and dashboard read. */
export const METRICS = {
  RECONCILE_SUCCEEDED: 'ReconcileSucceeded',
  UNKNOWN_VAULT_KEYS: 'UnknownVaultKeys',
  RECONCILE_CONFLICTS: 'ReconcileConflicts',
  /** Publish: registry records the vault does not back, left out of the JWKS (design §11). */
  UNVERIFIED_KEYS: 'UnverifiedKeys',
  /** Rotate handler, after each run: seconds since the ACTIVE key activated (the dashboard sets it against rotationPeriod). */
  ACTIVE_KEY_AGE: 'ActiveKeyAgeSeconds',
  /** Rotate handler, after each run: seconds since the newest `publishedAt` of any key (the last key publication). */
  SINCE_LAST_PUBLICATION: 'SecondsSinceLastKeyPublication',
  /** Events consumer: stream records reported as batch item failures in one invocation (service jwks-events). */
  RECORDS_FAILED: 'RecordsFailed',
  /**
   * Rotate handler in a region that is not the primary (watch mode): lifecycle actions due now that the
   * primary has not taken. Non-zero for hours means the primary stopped reconciling (ADR 0008).
   */
  OVERDUE_ACTIONS: 'PrimaryOverdueActions',
  /** Rotate handler: 1 when this region found a write by a fenced-off region (STATE behind a promotion). */
  FENCED_WRITES: 'FencedWrites',
  /**
   * Rotate handler, every run (multi-region): seconds since another region's heartbeat, as this
   * region's replica has it; dimension `SourceRegion` names that region. Grows while replication from
   * it is stalled (or it stopped running), whether or not registry items are changing.
   */
  REPLICA_HEARTBEAT_AGE: 'ReplicaHeartbeatAgeSeconds',
} as const;

/**
 * Dimensions of those metrics. A CloudWatch metric is identified by its exact dimension set, so an
 * alarm must name all of them: `Deployment` is the handler's default dimension, `service` the one
 * Powertools Metrics always adds (its name is fixed by Powertools; its value is the service name).
 */
export const METRIC_DIMENSIONS = {
  DEPLOYMENT: 'Deployment',
  SERVICE: 'service',
  /** REPLICA_HEARTBEAT_AGE: the region whose heartbeat it is. */
  SOURCE_REGION: 'SourceRegion',
} as const;

/** Powertools `serviceName` of each Lambda handler: the `service` of its logs and metrics. */
export const SERVICE_NAMES = {
  ROTATE: 'jwks-rotate',
  PUBLISH: 'jwks-publish',
  EVENTS: 'jwks-events',
  TOKEN: 'jwks-token',
  CANARY: 'jwks-canary',
} as const;

/**
 * The verifier canary's metrics (src/handlers/canary-handler.ts): one data point per `Path` and run.
 * The alarms and the dashboard read exactly these names.
 */
export const CANARY_METRICS = {
  /** 1 when every check of the path passed, 0 otherwise (a skipped token check emits nothing). */
  SUCCESS: 'CanarySuccess',
  /** Milliseconds of the path's request. */
  LATENCY: 'CanaryLatency',
  /**
   * JWKS paths only: seconds since the oldest registry change the served document does not reflect,
   * 0 when its kids are the ones the registry requires (src/probe/staleness.ts).
   */
  STALENESS: 'JwksStalenessSeconds',
  /** The dimension naming the path. */
  PATH_DIMENSION: 'Path',
} as const;

/** Values of the canary's `Path` dimension. */
export const CANARY_PATHS = {
  CLOUDFRONT_JWKS: 'cloudfront-jwks',
  APIGW_JWKS: 'apigw-jwks',
  DISCOVERY: 'discovery',
  TOKEN: 'token',
} as const;

/**
 * Stack output names. They are a contract: the CLI's `--stack <name>` mode reads them with
 * `DescribeStacks`, so renaming one breaks every deployed stack's CLI access. The stack declares its
 * outputs at stack scope, so each logical id is exactly the name here (no hash suffix).
 */
export const STACK_OUTPUTS = {
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
  /** The rotate function's role: the key administrator named in every key policy. */
  ROTATE_ROLE_ARN: 'RotateRoleArn',
  /** Comma-separated role ARNs named as signers (`kms:Sign`) in new keys' policies; see EMPTY_LIST_OUTPUT. */
  SIGNER_ROLE_ARNS: 'SignerRoleArns',
  /** Comma-separated role ARNs named as public-key readers in new keys' policies; see EMPTY_LIST_OUTPUT. */
  READER_ROLE_ARNS: 'ReaderRoleArns',
  /** The validated lifecycle policy as PolicyInput JSON (durations as strings, e.g. `"30d"`). */
  POLICY_JSON: 'PolicyJson',
  /** SNS topic of the key lifecycle events (design §6); subscribers filter on the `type` attribute. */
  TOPIC_ARN: 'TopicArn',
  /** S3 bucket of the audit trail (`audit/<keyRef>/…`, Object Lock). */
  AUDIT_BUCKET_NAME: 'AuditBucketName',
  /** `https://<CloudFront domain or custom domain>/oauth2/token`: the token endpoint under the one issuer. */
  TOKEN_ENDPOINT_URL: 'TokenEndpointUrl',
  /** The token function (`POST /oauth2/token`); its role is named as a signer in every new key policy. */
  TOKEN_FUNCTION_NAME: 'TokenFunctionName',
} as const;

export type StackOutputName = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];

/** Outputs of a multi-region deployment's regional stacks only (ADR 0008). */
export const MULTI_REGION_OUTPUTS = {
  /** Comma-separated regions of the deployment, the home region first (`jwks status --stack` reads each). */
  REGIONS: 'Regions',
} as const;

/**
 * The value of a comma-separated list output that names nothing. A CloudFormation output must have a
 * non-empty value, and a reader splitting on `,` and dropping blank entries (as the CLI does) reads
 * this as the empty list — never as a role named `-` or `none`.
 */
export const EMPTY_LIST_OUTPUT = ',';
