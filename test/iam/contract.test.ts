/**
 * The IAM contract (issue 19): every AWS call each deployed function makes on its real code paths is
 * allowed by what `cdk deploy` creates — the synthesized template's identity policies, bucket and topic
 * policies, and the key policy src/core/key-policy.ts builds — as a real IAM evaluator decides. One
 * region (`cdk synth`) and two (`-c regions=us-east-1,eu-west-1 -c account=111122223333`).
 *
 * And every grant is needed: deleting any one identity statement that is the only grant of a recorded
 * call makes the contract fail (a statement that grants nothing recorded is not proven by it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { define } from '../infra/multi-region-synth.ts';
import { synth } from '../infra/synth.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../support/dynamodb-local.ts';
import { FakeKmsRegions } from '../support/fake-kms-regions.ts';
import { startS3rver } from '../support/s3rver.ts';
import { DeployedApp, type PolicyDocument } from '../support/template-iam.ts';
import { grantTable, ignoredKeys, type Judged, judge, recordedRequests, refused } from './contract.ts';
import { callerOf, DeploymentRunner, kindOf } from './deployment-runner.ts';
import { singleRegion, twoRegions } from './scenarios.ts';

const ACCOUNT = '111122223333';
const HOME = 'us-east-1';
const OTHER = 'eu-west-1';

let ddb: DynamoDbLocal;
let s3: { endpoint: string; stop(): Promise<void> };
beforeAll(async () => {
  [ddb, s3] = await Promise.all([startDynamoDbLocal(), startS3rver()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([ddb?.stop(), s3?.stop()]);
});

/** Identity policies of `caller` without the statement `sid` of `policyName`. */
function without(runner: DeploymentRunner, caller: string, policyName: string, sid: string) {
  const fn = runner.functions.find((f) => callerOf(f) === caller);
  return fn?.identityPolicies.map((p) =>
    p.name !== policyName
      ? p
      : {
          ...p,
          policy: {
            ...p.policy,
            Statement: p.policy.Statement.filter((s: { Sid?: string }) => s.Sid !== sid),
          } as PolicyDocument,
        },
  );
}

function contract(
  name: string,
  setup: () => { app: DeployedApp; regions: string[]; run: (r: DeploymentRunner) => Promise<void> },
) {
  describe(name, () => {
    const { app, regions, run } = setup();
    const kms = new FakeKmsRegions(regions);
    let runner: DeploymentRunner;
    let judged: Judged[];

    beforeAll(async () => {
      kms.reset();
      kms.replicaCreatingPolls = 0;
      runner = new DeploymentRunner(app, kms, { dynamodb: ddb.endpoint, s3: s3.endpoint });
      await runner.prepare();
      try {
        await run(runner);
      } finally {
        runner.close();
      }
      judged = await judge(runner, recordedRequests(runner));
      if (process.env.IAM_CONTRACT_TABLE) console.log(grantTable(judged).join('\n'));
    }, 240_000);

    it('allows every call each function makes, as the role that makes it', () => {
      expect(refused(judged)).toEqual([]);
    });

    it('gives the evaluator only context keys each action supports', () => {
      expect(ignoredKeys(judged)).toEqual([]);
    });

    it('records calls of every function of every region', () => {
      const callers = new Set(judged.map((j) => j.request.caller));
      expect([...callers].sort()).toEqual(runner.functions.map(callerOf).sort());
    });

    it('fails when any one identity statement a recorded call needs is deleted', async () => {
      const proven: string[] = [];
      const policyOf = (caller: string, sid: string) =>
        runner.functions
          .find((f) => callerOf(f) === caller)
          ?.identityPolicies.find((p) => p.policy.Statement.some((s: { Sid?: string }) => s.Sid === sid))
          ?.name;
      const needed = new Set(
        judged.flatMap((j) =>
          j.verdict.grants
            .filter((g) => g.startsWith('identity:'))
            .map((g) => `${j.request.caller} ${g.slice(9)}`),
        ),
      );
      for (const entry of needed) {
        const [caller, sid] = entry.split(' ') as [string, string];
        const policy = policyOf(caller, sid);
        if (!policy) continue; // a statement without a Sid: CDK's own grants, judged by index
        const affected = judged.filter(
          (j) => j.request.caller === caller && j.verdict.grants.includes(`identity:${sid}`),
        );
        const again = await judge(
          runner,
          affected.map((j) => j.request),
          (c) => (c === caller ? without(runner, caller, policy, sid) : undefined),
        );
        if (refused(again).length > 0) proven.push(entry);
      }
      // Every statement the code needs is the only grant of at least one call: deleting it fails.
      expect(proven.sort()).toEqual(
        [...needed].filter((e) => policyOf(...(e.split(' ') as [string, string]))).sort(),
      );
      expect(proven.length).toBeGreaterThan(5);
    }, 120_000);

    it('finds every kind of function in the template, so none goes unrecorded', () => {
      expect(new Set(runner.functions.map(kindOf))).toEqual(
        new Set(['rotate', 'publish', 'token', 'events', 'canary']),
      );
    });
  });
}

contract('the IAM contract of a single-region deployment (cdk synth)', () => {
  const { stack } = synth();
  return {
    app: new DeployedApp([stack], { account: ACCOUNT, region: HOME }),
    regions: [HOME],
    run: (runner) => singleRegion(runner, HOME),
  };
});

contract(`the IAM contract of a two-region deployment (-c regions=${HOME},${OTHER})`, () => {
  const { stacks } = define({ regions: `${HOME},${OTHER}` }, { account: ACCOUNT });
  return {
    app: new DeployedApp([...stacks.bases, stacks.home, ...stacks.replicas], {
      account: ACCOUNT,
      region: HOME,
    }),
    regions: [HOME, OTHER],
    run: (runner) => twoRegions(runner, HOME, OTHER),
  };
});
