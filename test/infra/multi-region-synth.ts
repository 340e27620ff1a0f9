/**
 * Shared by the multi-region infra tests: the app as `infra/app.ts` defines it (context → stacks), its
 * templates as JSON, and the key-policy role names of infra/regions.ts.
 */
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { stackInputFromContext } from '../../infra/context.ts';
import { FEATURE_FLAGS } from '../../infra/feature-flags.ts';
import { defineStacks, type Environment } from '../../infra/multi-region.ts';
import { asArray, type Statement } from './synth.ts';

export const ACCOUNT = '111122223333';
export const HOME = 'eu-west-1';
export const REPLICA = 'us-east-1';
export const NAME = 'JwksPublisher-prod';

export function define(context: Record<string, unknown>, env: Environment = { account: ACCOUNT }) {
  const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [], ...context } });
  return { app, stacks: defineStacks(app, stackInputFromContext(app.node), env) };
}

// Template JSON is read as the CloudFormation shapes it has; the assertions check them.
// biome-ignore lint/suspicious/noExplicitAny: template JSON
export type Resource = { Type: string; Properties: Record<string, any> };
export const resources = (stack: Stack): Record<string, Resource> =>
  Template.fromStack(stack).toJSON().Resources;
export const ofType = (stack: Stack, type: string) =>
  Object.values(resources(stack)).filter((r) => r.Type === type);

/** Identity statements attached to the role named `roleName` (by Ref to its logical id, or by name when imported). */
export function statementsOfRole(stack: Stack, roleName: string): Statement[] {
  const all = resources(stack);
  const ids = Object.entries(all)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === roleName)
    .map(([id]) => id);
  return Object.values(all)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .filter((p) =>
      asArray(p.Properties.Roles).some(
        (r: { Ref?: string } | string) => r === roleName || ids.includes((r as { Ref?: string }).Ref ?? ''),
      ),
    )
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** The environment of the function whose role is the named key role. */
export function environmentOf(stack: Stack, roleName: string): Record<string, unknown> {
  const all = resources(stack);
  const fn = Object.values(all).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      JSON.stringify(r.Properties.Role).includes(roleName.replace(/^.*\//, '')) &&
      r.Properties.Environment,
  );
  if (fn) return fn.Properties.Environment.Variables;
  // In the home stack the role is a resource of the stack: the function names it by GetAtt.
  const id = Object.entries(all).find(
    ([, r]) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === roleName,
  )?.[0];
  const byRef = Object.values(all).find(
    (r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties.Role).includes(`"${id}"`),
  );
  if (!byRef) throw new Error(`no function with role ${roleName}`);
  return byRef.Properties.Environment.Variables;
}

export const role = (region: string, what: string) => `${NAME}-${region}-${what}`;
export const roleArn = (region: string, what: string) => `arn:aws:iam::${ACCOUNT}:role/${role(region, what)}`;
