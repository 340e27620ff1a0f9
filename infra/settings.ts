/**
 * Synth-time validation of everything a deployer can set (props or `-c key=value`). A bad value
 * fails `cdk synth` with an error that names the setting, before any resource is defined.
 *
 * The lifecycle policy goes through `parsePolicy`, the same function the Lambdas run at cold start
 * (design §3: "validated at deploy and at start by the same code").
 */
import { Token } from 'aws-cdk-lib';
import { parseDuration } from '../src/core/duration.ts';
import { parsePolicy } from '../src/core/policy.ts';
import type { Policy, PolicyInput } from '../src/core/types.ts';
import { ConfigError } from '../src/errors.ts';
import { checkRegions } from './regions.ts';
import type { TokenDomainSettings } from './token-domain.ts';
import { DEFAULT_TOKEN_THROTTLING, type TokenThrottling } from './token-endpoint.ts';
import { TOKEN_RATE_LIMIT_BOUNDS } from './token-rate-limit.ts';

/**
 * API Gateway stage names: "alphanumeric characters, hyphens, and underscores. Maximum length is 128
 * characters" (API Gateway API reference, CreateStage `stageName`).
 * @see https://docs.aws.amazon.com/apigateway/latest/api/API_CreateStage.html
 */
export const ENV_NAME_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The deployment name is a KMS tag value, a CloudWatch dimension and a CloudTrail match value.
 * Tag values allow more, but a conservative set keeps it safe in IAM condition values and shells.
 */
export const DEPLOYMENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:=+@-]{0,127}$/;

/** A DNS name (RFC 1123 labels), at least two labels. */
const DOMAIN_PATTERN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/** CloudFront only accepts ACM certificates from us-east-1. */
const CERTIFICATE_ARN_PATTERN = /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/;

const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** An IAM role ARN (the key policy names roles only). */
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** Object Lock retention is set in whole days, at least one, at most 100 years (S3's limit). */
const MIN_AUDIT_RETENTION_MS = 86_400_000;
const MAX_AUDIT_RETENTION_DAYS = 36_500;

/**
 * S3 Object Lock modes for the audit bucket. Governance: nobody may shorten or remove a retention
 * without `s3:BypassGovernanceRetention`, which the bucket policy denies to everyone (so lifting it
 * takes a visible bucket-policy change first). Compliance: not even the root user, until it expires.
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html#object-lock-retention-modes
 */
export const AUDIT_LOCK_MODES = ['governance', 'compliance'] as const;
export type AuditLockMode = (typeof AUDIT_LOCK_MODES)[number];

export const DEFAULT_ENV_NAME = 'prod';
export const DEFAULT_AUDIT_RETENTION = '365d';
export const DEFAULT_AUDIT_LOCK_MODE: AuditLockMode = 'governance';

export interface SettingsInput {
  readonly envName?: string;
  readonly deploymentName: string;
  readonly policy?: PolicyInput;
  readonly customDomain?: string;
  readonly certificateArn?: string;
  readonly auditRetention?: string | number;
  readonly auditLockMode?: string;
  readonly alarmEmail?: string;
  readonly keySignerRoleArns?: readonly string[];
  readonly keyReaderRoleArns?: readonly string[];
  /** Per-client token requests per 5 minutes (a WAF rate-based rule on the stage); none when unset. */
  readonly tokenRateLimit?: number | string;
  /** Throttling of `POST /oauth2/token` at the stage: requests per second, and the burst. */
  readonly tokenThrottleRate?: number | string;
  readonly tokenThrottleBurst?: number | string;
  /** A CloudFront-scope (us-east-1) AWS WAF web ACL to attach to the distribution, e.g. a per-IP rule. */
  readonly edgeWebAclArn?: string;
  /**
   * Multi-region (ADR 0008): every region, the initial primary first. With more than one, the policy
   * is validated for several regions (`maxReplicationLag` defaults to 30 s and counts in the retention rule).
   */
  readonly regions?: readonly string[];
  /**
   * One token host name across regions (Route 53 latency records with health checks, token-domain.ts):
   * all three or none.
   */
  readonly tokenDomain?: string;
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
}

export interface CustomDomain {
  readonly domainName: string;
  readonly certificateArn: string;
}

export interface ResolvedSettings {
  readonly envName: string;
  readonly deploymentName: string;
  readonly policy: Policy;
  /** Warnings from `parsePolicy` (e.g. a prepublish lead under 24h); surfaced as CDK warnings. */
  readonly policyWarnings: readonly string[];
  readonly customDomain?: CustomDomain;
  /** Audit record retention (the audit bucket's Object Lock default retention) in milliseconds. */
  readonly auditRetention: number;
  readonly auditLockMode: AuditLockMode;
  readonly alarmEmail?: string;
  /** Roles named in every new key's policy as signers / public-key readers. */
  readonly keySignerRoleArns: readonly string[];
  readonly keyReaderRoleArns: readonly string[];
  readonly tokenRateLimit?: number;
  readonly tokenThrottling: Required<TokenThrottling>;
  readonly edgeWebAclArn?: string;
  /** Every region of the deployment, the initial primary first; empty in a single-region deployment. */
  readonly regions: readonly string[];
  readonly tokenDomain?: TokenDomainSettings;
}

const invalid = (setting: string, message: string, cause?: unknown): ConfigError =>
  new ConfigError(setting, `${setting}: ${message}`, cause === undefined ? undefined : { cause });

/** A setting that must be known at synth time: tokens (CfnParameter, imports) cannot be validated. */
function literal(setting: string, value: string | undefined): string | undefined {
  if (value !== undefined && Token.isUnresolved(value)) {
    throw invalid(setting, 'must be a literal value, not a token (it is validated at synth time)');
  }
  return value;
}

export function checkEnvName(value: string | undefined): string {
  const envName = literal('envName', value) ?? DEFAULT_ENV_NAME;
  if (!ENV_NAME_PATTERN.test(envName)) {
    throw invalid(
      'envName',
      `${JSON.stringify(envName)} is not a valid API Gateway stage name (1-128 of A-Z a-z 0-9 _ -)`,
    );
  }
  return envName;
}

export function checkDeploymentName(value: string): string {
  const name = literal('deploymentName', value) ?? '';
  if (!DEPLOYMENT_NAME_PATTERN.test(name)) {
    throw invalid(
      'deploymentName',
      `${JSON.stringify(name)} must be 1-128 characters of A-Z a-z 0-9 _ . : = + @ -, starting with a letter or digit`,
    );
  }
  return name;
}

function checkCustomDomain(domain?: string, certificateArn?: string): CustomDomain | undefined {
  const domainName = literal('customDomain', domain);
  const arn = literal('certificateArn', certificateArn);
  if (domainName === undefined && arn === undefined) return undefined;
  if (domainName === undefined) throw invalid('customDomain', 'is required when certificateArn is set');
  if (arn === undefined) throw invalid('certificateArn', 'is required when customDomain is set');
  if (!DOMAIN_PATTERN.test(domainName)) {
    throw invalid('customDomain', `${JSON.stringify(domainName)} is not a lower-case DNS name`);
  }
  if (!CERTIFICATE_ARN_PATTERN.test(arn)) {
    throw invalid(
      'certificateArn',
      `${JSON.stringify(arn)} is not an ACM certificate ARN in us-east-1 (CloudFront)`,
    );
  }
  return { domainName, certificateArn: arn };
}

function checkAuditRetention(value: string | number | undefined): number {
  let ms: number;
  try {
    ms = parseDuration(value ?? DEFAULT_AUDIT_RETENTION);
  } catch (err) {
    throw invalid('auditRetention', err instanceof Error ? err.message : String(err), err);
  }
  if (ms < MIN_AUDIT_RETENTION_MS || ms % MIN_AUDIT_RETENTION_MS !== 0) {
    throw invalid('auditRetention', 'must be a whole number of days, at least 1d (S3 Object Lock retention)');
  }
  if (ms / MIN_AUDIT_RETENTION_MS > MAX_AUDIT_RETENTION_DAYS) {
    throw invalid(
      'auditRetention',
      `must be at most ${MAX_AUDIT_RETENTION_DAYS}d (S3 Object Lock retention)`,
    );
  }
  return ms;
}

function checkAuditLockMode(value: string | undefined): AuditLockMode {
  const mode = literal('auditLockMode', value)?.trim().toLowerCase() ?? DEFAULT_AUDIT_LOCK_MODE;
  if (!(AUDIT_LOCK_MODES as readonly string[]).includes(mode)) {
    throw invalid('auditLockMode', `${JSON.stringify(value)} is not one of ${AUDIT_LOCK_MODES.join(', ')}`);
  }
  return mode as AuditLockMode;
}

function checkEmail(value: string | undefined): string | undefined {
  const email = literal('alarmEmail', value);
  if (email !== undefined && !EMAIL_PATTERN.test(email)) {
    throw invalid('alarmEmail', `${JSON.stringify(email)} is not an e-mail address`);
  }
  return email;
}

function checkRoleArns(setting: string, arns: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const arn of arns ?? []) {
    if (Token.isUnresolved(arn))
      out.push(arn); // a role of this app: a real role by construction
    else if (!ROLE_ARN_PATTERN.test(arn))
      throw invalid(setting, `${JSON.stringify(arn)} is not an IAM role ARN`);
    else out.push(arn);
  }
  return out;
}

/** A number from a prop or from context (always a string there); undefined stays undefined. */
function numeric(setting: string, value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (Token.isUnresolved(value)) {
    throw invalid(setting, 'must be a literal value, not a token (it is validated at synth time)');
  }
  const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n)) throw invalid(setting, `${JSON.stringify(value)} is not a number`);
  return n;
}

function checkTokenRateLimit(value: number | string | undefined): number | undefined {
  const limit = numeric('tokenRateLimit', value);
  if (limit === undefined) return undefined;
  const { min, max } = TOKEN_RATE_LIMIT_BOUNDS;
  if (!Number.isInteger(limit) || limit < min || limit > max) {
    throw invalid('tokenRateLimit', `must be a whole number of requests from ${min} to ${max} (AWS WAF)`);
  }
  return limit;
}

/**
 * CloudFront accepts only web ACLs of scope CLOUDFRONT, which live in us-east-1 (their ARN says
 * `global/webacl`); anything else would fail only at deploy time, after the rest of the stack.
 * @see https://docs.aws.amazon.com/waf/latest/developerguide/cloudfront-features.html
 */
const EDGE_WEB_ACL_ARN =
  /^arn:aws(?:-[a-z]+)*:wafv2:us-east-1:\d{12}:global\/webacl\/[A-Za-z0-9_-]{1,128}\/[0-9a-f-]{36}$/;

function checkEdgeWebAclArn(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Token.isUnresolved(value)) {
    throw invalid('edgeWebAclArn', 'must be a literal value, not a token (it is validated at synth time)');
  }
  const arn = value.trim();
  if (!EDGE_WEB_ACL_ARN.test(arn)) {
    throw invalid(
      'edgeWebAclArn',
      `${JSON.stringify(value)} is not the ARN of a CloudFront-scope web ACL (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>)`,
    );
  }
  return arn;
}

/** API Gateway: a rate in requests per second (> 0), a burst as a whole number of requests (≥ 1). */
function checkTokenThrottling(input: SettingsInput): Required<TokenThrottling> {
  const rateLimit =
    numeric('tokenThrottleRate', input.tokenThrottleRate) ?? DEFAULT_TOKEN_THROTTLING.rateLimit;
  const burstLimit =
    numeric('tokenThrottleBurst', input.tokenThrottleBurst) ?? DEFAULT_TOKEN_THROTTLING.burstLimit;
  if (rateLimit <= 0) throw invalid('tokenThrottleRate', 'must be more than 0 requests per second');
  if (!Number.isInteger(burstLimit) || burstLimit < 1) {
    throw invalid('tokenThrottleBurst', 'must be a whole number of requests, at least 1');
  }
  return { rateLimit, burstLimit };
}

/** A Route 53 hosted zone id. */
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;

function checkTokenDomain(input: SettingsInput): TokenDomainSettings | undefined {
  const domainName = literal('tokenDomain', input.tokenDomain);
  const hostedZoneId = literal('hostedZoneId', input.hostedZoneId);
  const zone = literal('hostedZoneName', input.hostedZoneName)?.replace(/\.$/, '');
  if (domainName === undefined && hostedZoneId === undefined && zone === undefined) return undefined;
  if (domainName === undefined)
    throw invalid('tokenDomain', 'is required with hostedZoneId and hostedZoneName');
  if (hostedZoneId === undefined) throw invalid('hostedZoneId', 'is required with tokenDomain');
  if (zone === undefined) throw invalid('hostedZoneName', 'is required with tokenDomain');
  if (!DOMAIN_PATTERN.test(domainName)) {
    throw invalid('tokenDomain', `${JSON.stringify(domainName)} is not a lower-case DNS name`);
  }
  if (!HOSTED_ZONE_ID.test(hostedZoneId)) {
    throw invalid('hostedZoneId', `${JSON.stringify(hostedZoneId)} is not a Route 53 hosted zone id`);
  }
  if (!DOMAIN_PATTERN.test(zone) || !`.${domainName}`.endsWith(`.${zone}`)) {
    throw invalid('hostedZoneName', `${JSON.stringify(zone)} is not a zone that holds ${domainName}`);
  }
  return { domainName, hostedZoneId, hostedZoneName: zone };
}

/**
 * Validates every setting. Throws ConfigError (`code` INVALID_CONFIG, `variable` = the setting) or,
 * for the lifecycle policy, the PolicyError of `parsePolicy` (`code` INVALID_POLICY, `setting`).
 */
export function resolveSettings(input: SettingsInput): ResolvedSettings {
  const envName = checkEnvName(input.envName);
  const deploymentName = checkDeploymentName(input.deploymentName);
  const regions = checkRegions(input.regions);
  const { policy, warnings } = parsePolicy(input.policy ?? {}, { multiRegion: regions.length > 1 });
  const customDomain = checkCustomDomain(input.customDomain, input.certificateArn);
  const auditRetention = checkAuditRetention(input.auditRetention);
  const auditLockMode = checkAuditLockMode(input.auditLockMode);
  const alarmEmail = checkEmail(input.alarmEmail);
  const tokenRateLimit = checkTokenRateLimit(input.tokenRateLimit);
  const edgeWebAclArn = checkEdgeWebAclArn(input.edgeWebAclArn);
  const tokenDomain = checkTokenDomain(input);
  return {
    envName,
    deploymentName,
    policy,
    policyWarnings: warnings,
    auditRetention,
    auditLockMode,
    keySignerRoleArns: checkRoleArns('keySignerRoleArns', input.keySignerRoleArns),
    keyReaderRoleArns: checkRoleArns('keyReaderRoleArns', input.keyReaderRoleArns),
    tokenThrottling: checkTokenThrottling(input),
    regions,
    ...(tokenDomain ? { tokenDomain } : {}),
    ...(tokenRateLimit === undefined ? {} : { tokenRateLimit }),
    ...(edgeWebAclArn === undefined ? {} : { edgeWebAclArn }),
    ...(customDomain ? { customDomain } : {}),
    ...(alarmEmail ? { alarmEmail } : {}),
  };
}
