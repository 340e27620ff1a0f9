/**
 * The app's stacks (design §12, ADR 0008). Without `regions`, or with one, exactly the single-region
 * stack of before: one environment-agnostic `JwksPublisherStack`. With several, one deployment across
 * regions, in three layers (infra/regions.ts) that `cdk deploy --all` deploys in dependency order:
 *
 *   <stackName>-<replica>-base   bucket + key-policy roles       (every replica region)
 *   <stackName>-<home>           global table, distribution, home region's functions
 *   <stackName>-<replica>        the replica region's functions and API
 *
 * The home region is the first of `regions` (the initial primary). Values flow only downwards:
 * base → home (the failover bucket, cross-region reference), home → replica (table name, distribution,
 * issuer: cross-region references), base → replica (bucket, same region). Key-policy role names are
 * deterministic (regions.ts), so no stack needs another's role ARN. Cross-region references need
 * environment-bound stacks: an explicit account (`-c account=…` or CDK_DEFAULT_ACCOUNT).
 */
import type { App } from 'aws-cdk-lib';
import { ConfigError } from '../src/errors.ts';
import type { StackInput } from './context.ts';
import type { JwksPublisher } from './jwks-publisher.ts';
import { JwksPublisherStack, STACK_TAGS } from './jwks-publisher-stack.ts';
import { RegionBaseStack } from './region-base-stack.ts';
import { baseStackName, checkRegions, regionalStackName } from './regions.ts';
import { checkDeploymentName, checkEnvName, DEFAULT_ENV_NAME } from './settings.ts';

export interface MultiRegionProps {
  /** Every region, the initial primary (the home region) first. */
  readonly regions: readonly string[];
  /** The app's stack name, without region: the deployment name and the key-policy role names derive from it. */
  readonly appStackName: string;
  /** Home stack: the first replica region's base stack, whose bucket is the distribution's failover origin. */
  readonly failover?: RegionBaseStack;
  /** Replica region stacks: the home stack's publisher and this region's base stack. */
  readonly replica?: { readonly home: JwksPublisher; readonly base: RegionBaseStack };
}

export interface AppStacks {
  /** The home stack (the only stack of a single-region deployment). */
  readonly home: JwksPublisherStack;
  /** Replica regions' stacks, in the order of `regions`. */
  readonly replicas: readonly JwksPublisherStack[];
  readonly bases: readonly RegionBaseStack[];
}

const ACCOUNT = /^\d{12}$/;

export interface Environment {
  /** `-c account=…`, else CDK_DEFAULT_ACCOUNT (the CLI's credentials). */
  readonly account?: string;
  /** CDK_DEFAULT_REGION: the region a single-region (environment-agnostic) stack deploys to. */
  readonly defaultRegion?: string;
}

/**
 * Defines the stacks of `input` in `app`. `regions` is validated here (distinct, well-formed); the
 * policy is validated per stack with the multi-region rules when there are several.
 */
export function defineStacks(
  app: App,
  input: StackInput & { readonly regions?: readonly string[] },
  env: Environment = {},
): AppStacks {
  const regions = checkRegions(input.regions);
  if (regions.length <= 1) {
    const [region] = regions;
    if (region !== undefined && env.defaultRegion !== undefined && env.defaultRegion !== region) {
      // A one-region list keeps the single-region stack as it always was (environment-agnostic), which
      // deploys to the CLI's region: refuse a list that names another one rather than deploy elsewhere.
      throw new ConfigError(
        'regions',
        `regions: ${region} is not the CLI's region ${env.defaultRegion} (a single-region stack deploys there; set AWS_REGION or the profile's region)`,
      );
    }
    return { home: new JwksPublisherStack(app, input.stackName, input.props), replicas: [], bases: [] };
  }
  const account = env.account;
  if (account === undefined || !ACCOUNT.test(account)) {
    throw new ConfigError(
      'account',
      `account: a multi-region deployment needs an explicit 12-digit account (-c account=… or CDK_DEFAULT_ACCOUNT from the CLI's credentials), got ${JSON.stringify(account ?? null)}: cross-region references need environment-bound stacks`,
    );
  }
  const longest = Math.max(...regions.map((r) => baseStackName(input.stackName, r).length));
  if (longest > 128) {
    throw new ConfigError(
      'stackName',
      `stackName: ${JSON.stringify(input.stackName)} is too long for its regional stacks (<stackName>-<region>-base must fit CloudFormation's 128 characters)`,
    );
  }
  const publisher = input.props.publisher ?? {};
  const stackTags = {
    [STACK_TAGS.APPLICATION]: 'jwks-publisher',
    [STACK_TAGS.ENVIRONMENT]: checkEnvName(publisher.envName ?? DEFAULT_ENV_NAME),
    [STACK_TAGS.DEPLOYMENT]: checkDeploymentName(publisher.deploymentName ?? input.stackName),
  };
  const [homeRegion, ...replicaRegions] = regions as [string, ...string[]];
  const common = { regions, appStackName: input.stackName };
  const regional = (region: string, multiRegion: MultiRegionProps, description?: string) =>
    new JwksPublisherStack(app, regionalStackName(input.stackName, region), {
      ...input.props,
      ...(description ? { description } : {}),
      env: { account, region },
      crossRegionReferences: true,
      publisher: { ...publisher, multiRegion },
    });

  const bases = replicaRegions.map(
    (region) =>
      new RegionBaseStack(app, baseStackName(input.stackName, region), {
        env: { account, region },
        crossRegionReferences: true,
        appStackName: input.stackName,
        stackTags,
        description: `JWKS publisher (${stackTags[STACK_TAGS.ENVIRONMENT]}): documents bucket and key-policy roles in ${region}`,
      }),
  );
  const failover = bases[0] as RegionBaseStack;
  const home = regional(homeRegion, { ...common, failover });
  for (const base of bases) home.addStackDependency(base, 'its roles are named in the first key policies');
  const replicas = replicaRegions.map((region, i) => {
    const base = bases[i] as RegionBaseStack;
    const stack = regional(region, { ...common, replica: { home: home.publisher, base } });
    stack.addStackDependency(base, 'its roles and bucket');
    stack.addStackDependency(home, 'the global table replica and the distribution');
    return stack;
  });
  return { home, replicas, bases };
}
