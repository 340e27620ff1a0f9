/**
 * Shared by the infra tests: synthesize the stack exactly as `infra/app.ts` does (context → props →
 * stack), without esbuild (bundling is skipped for all stacks; the entry files must still exist),
 * and read IAM out of the template.
 */
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { stackInputFromContext } from '../../infra/context.ts';
import { FEATURE_FLAGS } from '../../infra/feature-flags.ts';
import { JwksPublisherStack } from '../../infra/jwks-publisher-stack.ts';

export interface Synthesized {
  readonly app: App;
  readonly stack: JwksPublisherStack;
  readonly template: Template;
}

/** The app and stack as `infra/app.ts` builds them, not yet synthesized. */
export function build(context: Record<string, unknown> = {}): Omit<Synthesized, 'template'> {
  const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [], ...context } });
  const { stackName, props } = stackInputFromContext(app.node);
  return { app, stack: new JwksPublisherStack(app, stackName, props) };
}

/** `context` is what `-c key=value` would give (strings), merged over the feature flags. */
export function synth(context: Record<string, unknown> = {}): Synthesized {
  const { app, stack } = build(context);
  return { app, stack, template: Template.fromStack(stack) };
}

/** Logical id of a construct's CloudFormation resource (its default child). */
export const logicalId = (c: IConstruct): string =>
  Stack.of(c).getLogicalId((c.node.defaultChild ?? c) as CfnElement);

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Principal?: unknown;
  readonly Sid?: string;
}

export const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Every identity-based statement in the template: policies, inline role policies, managed policies. */
export function identityStatements(template: Template): Array<Statement & { owner: string }> {
  const out: Array<Statement & { owner: string }> = [];
  const add = (owner: string, doc: { Statement: Statement[] } | undefined) => {
    for (const s of doc?.Statement ?? []) out.push({ ...s, owner });
  };
  for (const [id, r] of Object.entries(template.findResources('AWS::IAM::Policy')))
    add(id, r.Properties.PolicyDocument);
  for (const [id, r] of Object.entries(template.findResources('AWS::IAM::ManagedPolicy')))
    add(id, r.Properties.PolicyDocument);
  for (const [id, r] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const p of r.Properties.Policies ?? []) add(id, p.PolicyDocument);
  }
  return out;
}

/** Statements of the default policy attached to one role. */
export function roleStatements(template: Template, role: IConstruct): Statement[] {
  const roleId = logicalId(role);
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => asArray(p.Properties.Roles).some((r: { Ref?: string }) => r.Ref === roleId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** IAM action glob (`kms:*`, `kms:Disable*`, `*`) matching, case-insensitive as IAM is. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
  return re.test(action);
}
const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/** The statements allowing `action` (directly or through a wildcard). */
export const allowing = <S extends Statement>(statements: S[], action: string): S[] =>
  statements.filter((s) => s.Effect === 'Allow' && asArray(s.Action).some((a) => actionMatches(a, action)));

/** All actions of Allow statements, flattened. */
export const allowedActions = (statements: Statement[]): string[] =>
  statements.filter((s) => s.Effect === 'Allow').flatMap((s) => asArray(s.Action));

/** IAM `StringLike`: `*` any run of characters, `?` one character, case-sensitive. */
const likeMatches = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  ).test(value);

/**
 * Whether `statements` allow `action` on an item of partition `pk`, evaluating the two conditions the
 * token role's statements use (ForAllValues:StringLike and Null on dynamodb:LeadingKeys). A statement
 * with any other condition operator counts as not allowing, so a new condition makes the test fail
 * rather than pass unexamined.
 */
export function allowsItem(statements: Statement[], action: string, pk: string): boolean {
  return statements.some((s) => {
    if (s.Effect !== 'Allow' || !asArray(s.Action).includes(action)) return false;
    return Object.entries(s.Condition ?? {}).every(([operator, keys]) => {
      const patterns = asArray((keys as Record<string, string | string[]>)['dynamodb:LeadingKeys']);
      if (operator === 'ForAllValues:StringLike') return patterns.some((p) => likeMatches(p, pk));
      if (operator === 'Null') return patterns.every((v) => v === 'false');
      return false;
    });
  });
}
