/**
 * CDK context → stack props, so every setting works as `npx cdk deploy -c name=value`. Context from
 * the command line is always a string; cdk.json may hold numbers and booleans. Values are only
 * shaped here; the construct validates them (`settings.ts`).
 */
import type { Node } from 'constructs';
import type { PolicyInput } from '../src/core/types.ts';
import { ConfigError } from '../src/errors.ts';
import type { JwksPublisherStackProps } from './jwks-publisher-stack.ts';
import { checkEnvName } from './settings.ts';

/** Lifecycle policy settings accepted as context (design §3), same names as the props. */
export const POLICY_CONTEXT_KEYS = [
  'rotationPeriod',
  'prepublishLead',
  'retention',
  'maxTokenTtl',
  'clockSkew',
  'signerCacheTtl',
  'jwksMaxAge',
  'cdnMaxTtl',
  'algorithm',
  'kmsDeletionWindow',
  'intentTimeout',
  'maxReplicationLag',
] as const satisfies readonly (keyof PolicyInput)[];

export const CONTEXT_KEYS = [
  'envName',
  'stackName',
  'deploymentName',
  'customDomain',
  'certificateArn',
  'auditRetention',
  'auditLockMode',
  'alarmEmail',
  'apiCloudWatchRole',
  'keySignerRoleArns',
  'keyReaderRoleArns',
  'tokenRateLimit',
  'tokenThrottleRate',
  'tokenThrottleBurst',
  'edgeWebAclArn',
  'regions',
  'account',
  'tokenDomain',
  'hostedZoneId',
  'hostedZoneName',
  ...POLICY_CONTEXT_KEYS,
] as const;

export interface StackInput {
  readonly stackName: string;
  readonly props: JwksPublisherStackProps;
  /** `-c regions=eu-west-1,us-east-1`: the initial primary first (infra/multi-region.ts). */
  readonly regions?: readonly string[];
  /** `-c account=…`: the account of a multi-region deployment's environment-bound stacks. */
  readonly account?: string;
}

type Getter = (key: string) => unknown;

function text(get: Getter, key: string): string | undefined {
  const value = get(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ConfigError(key, `${key}: expected a string, got ${typeof value}`);
}

function bool(get: Getter, key: string): boolean | undefined {
  const value = text(get, key);
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(key, `${key}: expected true or false, got ${JSON.stringify(value)}`);
}

/** A comma-separated list (`-c keySignerRoleArns=arn:…,arn:…`) or, from cdk.json, an array. */
function list(get: Getter, key: string): string[] | undefined {
  const value = get(key);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  const s = text(get, key);
  if (s === undefined) return undefined;
  return s
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Policy settings keep numbers as numbers (milliseconds, as `parseDuration` reads them). */
function policyFromContext(get: Getter): PolicyInput {
  const input: Record<string, string | number> = {};
  for (const key of POLICY_CONTEXT_KEYS) {
    const value = get(key);
    if (typeof value === 'number') input[key] = value;
    else {
      const s = text(get, key);
      if (s !== undefined) input[key] = s;
    }
  }
  return input as PolicyInput;
}

/**
 * Reads the context of `node` (the app). The stack name defaults to `JwksPublisher-<envName>` so
 * several environments can live in one account; envName is checked first so a bad one is reported
 * as envName, not as an invalid stack name.
 */
export function stackInputFromContext(node: Node): StackInput {
  const get: Getter = (key) => node.tryGetContext(key);
  const envName = checkEnvName(text(get, 'envName'));
  const stackName = text(get, 'stackName') ?? `JwksPublisher-${envName.replaceAll('_', '-')}`;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new ConfigError(
      'stackName',
      `stackName: ${JSON.stringify(stackName)} is not a CloudFormation stack name`,
    );
  }
  const optional = <K extends string, V>(key: K, value: V | undefined) =>
    (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;
  return {
    stackName,
    ...optional('regions', list(get, 'regions')),
    ...optional('account', text(get, 'account')),
    props: {
      description: `JWKS publisher (${envName}): KMS-backed signing keys, rotated and published`,
      publisher: {
        envName,
        policy: policyFromContext(get),
        ...optional('deploymentName', text(get, 'deploymentName')),
        ...optional('customDomain', text(get, 'customDomain')),
        ...optional('certificateArn', text(get, 'certificateArn')),
        ...optional('auditRetention', text(get, 'auditRetention')),
        ...optional('auditLockMode', text(get, 'auditLockMode')),
        ...optional('alarmEmail', text(get, 'alarmEmail')),
        ...optional('apiCloudWatchRole', bool(get, 'apiCloudWatchRole')),
        ...optional('keySignerRoleArns', list(get, 'keySignerRoleArns')),
        ...optional('keyReaderRoleArns', list(get, 'keyReaderRoleArns')),
        ...optional('tokenRateLimit', text(get, 'tokenRateLimit')),
        ...optional('tokenThrottleRate', text(get, 'tokenThrottleRate')),
        ...optional('tokenThrottleBurst', text(get, 'tokenThrottleBurst')),
        ...optional('edgeWebAclArn', text(get, 'edgeWebAclArn')),
        ...optional('tokenDomain', text(get, 'tokenDomain')),
        ...optional('hostedZoneId', text(get, 'hostedZoneId')),
        ...optional('hostedZoneName', text(get, 'hostedZoneName')),
      },
    },
  };
}
