/**
 * Issue 9: `jwks rotate|revoke|publish --stack` ask the deployed function that owns the action (Lambda
 * Invoke with the operator's STS identity) and print its answer. The operator's machine neither
 * decides nor writes: no KMS, DynamoDB, S3 or CloudFront request leaves it.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultLoader } from '../../src/cli/main.ts';
import { STACK_OUTPUTS } from '../../src/constants.ts';
import { createRotateHandler } from '../../src/handlers/rotate-handler.ts';
import type { OperatorAction, OperatorEvent } from '../../src/operator/action.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { bootstrap, json, memoryStack, run } from './harness.ts';

const cfn = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);
const lambda = mockClient(LambdaClient);
const kms = mockClient(KMSClient);
const ddb = mockClient(DynamoDBClient);
const s3 = mockClient(S3Client);
const cloudfront = mockClient(CloudFrontClient);

const ENV = { AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
const ARN = 'arn:aws:sts::123456789012:assumed-role/Operators/alice';
const ROTATE_FN = 'jwks-prod-Rotate';
const PUBLISH_FN = 'jwks-prod-Publish';

function outputs(overrides: Record<string, string | undefined> = {}) {
  const all: Record<string, string | undefined> = {
    [STACK_OUTPUTS.JWKS_URL]: 'https://d111.cloudfront.net/.well-known/jwks.json',
    [STACK_OUTPUTS.TABLE_NAME]: 'jwks-registry-prod',
    [STACK_OUTPUTS.BUCKET_NAME]: 'jwks-bucket-prod',
    [STACK_OUTPUTS.DISTRIBUTION_ID]: 'E123',
    [STACK_OUTPUTS.DEPLOYMENT_NAME]: 'prod',
    [STACK_OUTPUTS.ROTATE_ROLE_ARN]: 'arn:aws:iam::123456789012:role/jwks-rotate',
    [STACK_OUTPUTS.SIGNER_ROLE_ARNS]: 'arn:aws:iam::123456789012:role/jwks-token',
    [STACK_OUTPUTS.POLICY_JSON]: JSON.stringify({ algorithm: 'ES256' }),
    [STACK_OUTPUTS.ROTATE_FUNCTION_NAME]: ROTATE_FN,
    [STACK_OUTPUTS.PUBLISH_FUNCTION_NAME]: PUBLISH_FN,
    ...overrides,
  };
  return Object.entries(all).flatMap(([OutputKey, OutputValue]) =>
    OutputValue === undefined ? [] : [{ OutputKey, OutputValue }],
  );
}

/** A Lambda response payload (the SDK's blob adapter is a Uint8Array with helpers the CLI does not use). */
const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)) as never;
const decode = (b: unknown) => JSON.parse(new TextDecoder().decode(b as Uint8Array)) as OperatorAction;
const deployed = (argv: string[]) =>
  run([...argv, '--stack', 'jwks-prod'], undefined, { env: ENV, loadContext: defaultLoader(ENV) });
const invoked = () => lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
const errorCode = (r: Awaited<ReturnType<typeof run>>) => json<{ error: { code: string } }>(r).error.code;

/** No request to a data-plane service: the function acts, not the operator's machine. */
function expectNoDataPlaneCalls(): void {
  expect(kms.calls()).toHaveLength(0);
  expect(ddb.calls()).toHaveLength(0);
  expect(s3.calls()).toHaveLength(0);
  expect(cloudfront.calls()).toHaveLength(0);
}

beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 6));
beforeEach(() => {
  for (const m of [cfn, sts, lambda, kms, ddb, s3, cloudfront]) m.reset();
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'jwks-prod',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: outputs(),
      },
    ],
  });
  sts.on(GetCallerIdentityCommand).resolves({ Arn: ARN, Account: '123456789012', UserId: 'AROA:alice' });
});

const OUTCOME = {
  action: 'rotate',
  result: { immediate: true, activatedKid: 'k2' },
  text: 'activated k2',
  warnings: ['w1'],
};

describe('jwks rotate|revoke|publish --stack', () => {
  it('invokes the rotate function with the operator and reason, and prints its result, when rotate --now', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({ ok: true, outcome: OUTCOME }) });
    const r = await deployed(['rotate', '--now', '--reason', 'INC-7', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toEqual(OUTCOME.result);
    expect(r.stderr).toBe('warning: w1\n');
    const [call] = invoked();
    expect(call?.FunctionName).toBe(ROTATE_FN);
    expect(call?.InvocationType).toBe('RequestResponse');
    expect(decode(call?.Payload)).toEqual({
      action: 'rotate',
      immediate: true,
      reason: 'INC-7',
      operator: { arn: ARN },
    });
    expectNoDataPlaneCalls();
  });

  it('sends a kid that begins with "-" to the rotate function when revoke', async () => {
    const kid = `-${'G'.repeat(42)}`;
    lambda
      .on(InvokeCommand)
      .resolves({ Payload: encode({ ok: true, outcome: { ...OUTCOME, action: 'revoke' } }) });
    const r = await deployed(['revoke', kid, '--reason', '-x leaked']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('activated k2\n');
    expect(decode(invoked()[0]?.Payload)).toMatchObject({ action: 'revoke', kid, reason: '-x leaked' });
    expect(invoked()[0]?.FunctionName).toBe(ROTATE_FN);
    expectNoDataPlaneCalls();
  });

  it('sends promote-region to the rotate function of the stack named, and exits 1 with its refusal code', async () => {
    const promoted = { ...OUTCOME, action: 'promote-region', text: 'eu-central-1 is the primary region now' };
    lambda.on(InvokeCommand).resolvesOnce({ Payload: encode({ ok: true, outcome: promoted }) });
    const r = await deployed(['promote-region', 'eu-central-1', '--reason', 'INC-9 region lost']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('eu-central-1 is the primary region now\n');
    expect(invoked()[0]?.FunctionName).toBe(ROTATE_FN);
    expect(decode(invoked()[0]?.Payload)).toEqual({
      action: 'promote-region',
      region: 'eu-central-1',
      reason: 'INC-9 region lost',
      operator: { arn: ARN },
    });
    lambda.on(InvokeCommand).resolves({
      Payload: encode({ ok: false, error: { code: 'INVALID_ARGUMENT', message: 'already the primary' } }),
    });
    const again = await deployed(['promote-region', 'eu-central-1', '--json']);
    expect(again.code).toBe(1);
    expect(errorCode(again)).toBe('INVALID_ARGUMENT');
    expectNoDataPlaneCalls();
  });

  it('exits 1 with INVALID_ARGUMENT when promote-region runs against a single-region stack', async () => {
    const stack = memoryStack();
    await bootstrap(stack);
    const r = await run(['promote-region', 'eu-west-1', '--json'], stack);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('INVALID_ARGUMENT');
    expect(stack.registry.snapshot().promotions).toBeUndefined();
  });

  it('invokes the publish function when publish --force', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ Payload: encode({ ok: true, outcome: { ...OUTCOME, action: 'publish' } }) });
    expect((await deployed(['publish', '--force'])).code).toBe(0);
    expect(invoked()[0]?.FunctionName).toBe(PUBLISH_FN);
    expect(decode(invoked()[0]?.Payload)).toEqual({
      action: 'publish',
      force: true,
      reason: 'operator publish',
      operator: { arn: ARN },
    });
    expectNoDataPlaneCalls();
  });

  it('prints what the real rotate function answers, in the shape the local command prints', async () => {
    const world = memoryStack();
    await bootstrap(world);
    const handler = createRotateHandler({ ...world, bootstrapWaitMs: 0 });
    lambda.on(InvokeCommand).callsFake(async (input: { Payload: Uint8Array }) => ({
      Payload: encode(await handler(decode(input.Payload) as unknown as OperatorEvent)),
    }));
    const remote = await deployed(['rotate', '--now', '--json']);
    expect(remote.code, remote.stderr).toBe(0);
    expect(world.registry.snapshot().keys.find((k) => k.status === 'ACTIVE')?.changedBy).toBe(`cli:${ARN}`);

    const local = memoryStack();
    await bootstrap(local);
    const here = await run(['rotate', '--now', '--json'], local);
    expect(Object.keys(json(remote)).sort()).toEqual(Object.keys(json(here)).sort());
    expectNoDataPlaneCalls();
  });

  it('exits 1 naming the function and the error, without its stack trace, when the function fails', async () => {
    lambda.on(InvokeCommand).resolves({
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'AccessDeniedException',
        errorMessage: 'not allowed: kms:CreateKey',
        stackTrace: ['at x (/var/task/index.mjs:1:1)'],
      }),
    });
    const r = await deployed(['rotate', '--json']);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('UPSTREAM');
    expect(r.stderr).toContain(ROTATE_FN);
    expect(r.stderr).toContain('AccessDeniedException: not allowed: kms:CreateKey');
    expect(r.stderr).not.toContain('/var/task');
  });

  it('exits 1 with the code the function answered when it refuses the request', async () => {
    lambda.on(InvokeCommand).resolves({
      Payload: encode({ ok: false, error: { code: 'KEY_NOT_FOUND', message: 'no key with kid k9' } }),
    });
    const r = await deployed(['revoke', 'k9', '--json']);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('KEY_NOT_FOUND');
  });

  it('exits 1 with UPSTREAM when the operator may not invoke the function', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('no lambda:InvokeFunction'), { name: 'AccessDeniedException' }));
    const r = await deployed(['publish', '--json']);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('UPSTREAM');
    expect(r.stderr).toContain('AccessDeniedException');
  });

  it('exits 1 with MISSING_CONFIG and invokes nothing when the stack does not name its rotate function', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'jwks-prod',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: outputs({ [STACK_OUTPUTS.ROTATE_FUNCTION_NAME]: undefined }),
        },
      ],
    });
    const r = await deployed(['rotate', '--json']);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('MISSING_CONFIG');
    expect(invoked()).toHaveLength(0);
  });
});
