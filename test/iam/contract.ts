/**
 * The IAM contract's judgement (issue 19): every recorded call of every function, as the IAM requests
 * it is (test/support/iam-requests.ts), evaluated as the function's role against the template's
 * identity policies and the resource's own policy — for a signing key, the key policy the code really
 * sent with CreateKey/ReplicateKey (src/core/key-policy.ts), read from the KMS stand-in.
 */
import { evaluate, type Verdict } from '../support/iam-evaluator.ts';
import { type IamRequest, iamRequests } from '../support/iam-requests.ts';
import type { PolicyDocument } from '../support/template-iam.ts';
import { callerOf, type DeploymentRunner } from './deployment-runner.ts';

export interface Judged {
  readonly request: IamRequest;
  readonly verdict: Verdict;
  /** Why it was not evaluated (a key that did not exist: KMS answers NotFoundException first). */
  readonly skipped?: string;
}

export const describeRequest = (r: IamRequest) =>
  `${r.caller} ${r.action} ${r.resource} ${JSON.stringify(r.context)} (${r.from})`;

/** The resource policy of a request, where the service has one. */
export function resourcePolicyOf(
  runner: DeploymentRunner,
  request: IamRequest,
): PolicyDocument | undefined | null {
  const ref = request.resourcePolicy;
  if (!ref) return undefined;
  switch (ref.kind) {
    case 'kms-key': {
      const key = runner.kms.keys.get(ref.arn);
      return key ? (JSON.parse(key.policy) as PolicyDocument) : null;
    }
    case 'kms-new-key':
      return {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${runner.app.account}:root` },
            Action: 'kms:*',
            Resource: '*',
          },
        ],
      };
    case 's3-bucket':
      return runner.app.bucketPolicy(ref.bucket);
    case 'sns-topic':
      return runner.app.topicPolicy(ref.arn);
  }
}

/** The function's recorded calls as unique IAM requests (identical requests are judged once). */
export function recordedRequests(runner: DeploymentRunner): IamRequest[] {
  const callers = new Set(runner.functions.map(callerOf));
  const seen = new Map<string, IamRequest>();
  for (const call of runner.recorder.calls) {
    if (!callers.has(call.caller)) continue;
    const requests = iamRequests(call, {
      account: runner.app.account,
      keyFacts: (arn) => {
        const key = runner.kms.keys.get(arn);
        return key ? { tags: key.tags, keySpec: key.keySpec } : undefined;
      },
    });
    for (const r of requests) {
      const id = JSON.stringify([r.caller, r.action, r.resource, r.context, r.resourcePolicy]);
      if (!seen.has(id)) seen.set(id, r);
    }
  }
  return [...seen.values()];
}

/** Judge requests as their callers' roles; `policies` overrides a role's identity policies (mutation tests). */
export async function judge(
  runner: DeploymentRunner,
  requests: readonly IamRequest[],
  policies?: (caller: string) => { name: string; policy: PolicyDocument }[] | undefined,
): Promise<Judged[]> {
  const out: Judged[] = [];
  for (const request of requests) {
    const fn = runner.functions.find((f) => callerOf(f) === request.caller);
    if (!fn) throw new Error(`no function for ${request.caller}`);
    const resourcePolicy = resourcePolicyOf(runner, request);
    if (resourcePolicy === null) {
      out.push({ request, verdict: { result: 'Allowed', grants: [], ignored: [] }, skipped: 'no such key' });
      continue;
    }
    const verdict = await evaluate(
      request,
      {
        arn: fn.roleArn,
        account: runner.app.account,
        identityPolicies: policies?.(request.caller) ?? fn.identityPolicies,
      },
      resourcePolicy,
    );
    out.push({ request, verdict });
  }
  return out;
}

/** The requests that were not allowed, one line each. */
export const refused = (judged: readonly Judged[]): string[] =>
  judged
    .filter((j) => j.verdict.result !== 'Allowed')
    .map((j) => `${j.verdict.result}: ${describeRequest(j.request)}`);

/** Context keys the evaluator ignored (the action does not support them): the mapping is wrong. */
export const ignoredKeys = (judged: readonly Judged[]): string[] =>
  judged
    .filter((j) => j.verdict.ignored.length > 0)
    .map((j) => `${j.verdict.ignored.join(',')}: ${describeRequest(j.request)}`);

/** `caller | action | resource | grants` rows, for docs/iam.md. */
export function grantTable(judged: readonly Judged[]): string[] {
  const rows = new Set<string>();
  for (const { request, verdict, skipped } of judged) {
    if (skipped) continue;
    const resource = request.resource
      .replace(/key\/(mrk-)?[0-9a-f]{32}/, 'key/$1<id>')
      .replace(/KEY#[^"]+|JTI#[^"]+|CLIENT#[^"]+/, '…');
    rows.add(`| ${request.caller} | \`${request.action}\` | ${resource} | ${verdict.grants.join(', ')} |`);
  }
  return [...rows].sort();
}
