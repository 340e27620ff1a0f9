import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsKeyVault } from '../../src/adapters/aws/kms.ts';
import { deployedContext } from '../../src/cli/deployed-context.ts';
import { MULTI_REGION_OUTPUTS, STACK_OUTPUTS } from '../../src/constants.ts';
import { parsePolicy } from '../../src/core/policy.ts';

const cfn = mockClient(CloudFormationClient);
const sts = mockClient(STSClient);
const ddb = mockClient(DynamoDBClient);

const ENV = { AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
const ROLE = 'arn:aws:iam::123456789012:role/jwks-rotate';
const POLICY = { rotationPeriod: '14d', prepublishLead: '2d', algorithm: 'ES256' };

function outputs(overrides: Record<string, string | undefined> = {}) {
  const all: Record<string, string | undefined> = {
    [STACK_OUTPUTS.JWKS_URL]: 'https://d111.cloudfront.net/.well-known/jwks.json',
    [STACK_OUTPUTS.TABLE_NAME]: 'jwks-registry-prod',
    [STACK_OUTPUTS.BUCKET_NAME]: 'jwks-bucket-prod',
    [STACK_OUTPUTS.DISTRIBUTION_ID]: 'E123',
    [STACK_OUTPUTS.DEPLOYMENT_NAME]: 'prod',
    [STACK_OUTPUTS.ROTATE_ROLE_ARN]: ROLE,
    [STACK_OUTPUTS.SIGNER_ROLE_ARNS]: 'arn:aws:iam::123456789012:role/jwks-token',
    [STACK_OUTPUTS.POLICY_JSON]: JSON.stringify(POLICY),
    ...overrides,
  };
  return Object.entries(all).flatMap(([OutputKey, OutputValue]) =>
    OutputValue === undefined ? [] : [{ OutputKey, OutputValue }],
  );
}

function stackOutputs(list: ReturnType<typeof outputs>, StackName?: string) {
  const stack = {
    StackName: StackName ?? 's',
    CreationTime: new Date(),
    StackStatus: 'CREATE_COMPLETE' as const,
  };
  cfn
    .on(DescribeStacksCommand, StackName ? { StackName } : {})
    .resolves({ Stacks: [{ ...stack, Outputs: list }] });
}

beforeEach(() => {
  cfn.reset();
  sts.reset();
  ddb.reset();
});

describe('deployedContext', () => {
  it('builds the adapters from the stack outputs', async () => {
    stackOutputs(outputs(), 'jwks-prod');
    ddb.on(GetItemCommand).resolves({});
    const ctx = await deployedContext('jwks-prod', ENV);
    expect(ctx.jwksUrl).toBe('https://d111.cloudfront.net/.well-known/jwks.json');
    expect(ctx.policy).toEqual(parsePolicy(POLICY).policy);
    expect(ctx.vault).toBeInstanceOf(KmsKeyVault);
    expect(await ctx.registry.readState()).toMatchObject({ registryVersion: 0 });
    expect(ddb.commandCalls(GetItemCommand)[0]?.args[0].input.TableName).toBe('jwks-registry-prod');
    ctx.close();
  });

  it("reads every region's replica of the table through that region's endpoint when the stack names its regions", async () => {
    stackOutputs(outputs({ [MULTI_REGION_OUTPUTS.REGIONS]: 'eu-central-1,us-east-1' }));
    const regionsAsked: string[] = [];
    ddb.on(QueryCommand).callsFake(async (input: { TableName: string }, getClient) => {
      const region = await getClient().config.region();
      regionsAsked.push(`${region} ${input.TableName}`);
      if (region === 'us-east-1') throw new Error('connect ETIMEDOUT');
      return { Items: [marshall({ pk: 'REGISTRY', sk: 'STATE', registryVersion: 4 })] };
    });
    const ctx = await deployedContext('s', ENV);
    const [home, other] = ctx.regionRegistries ?? [];
    expect([home?.region, other?.region]).toEqual(['eu-central-1', 'us-east-1']);
    expect((await home?.read())?.state.registryVersion).toBe(4);
    await expect(other?.read()).rejects.toThrow('ETIMEDOUT');
    expect(regionsAsked.sort()).toEqual(['eu-central-1 jwks-registry-prod', 'us-east-1 jwks-registry-prod']);
    ctx.close();
  });

  it('gives status no regions to read when the stack is single-region', async () => {
    stackOutputs(outputs());
    const ctx = await deployedContext('s', ENV);
    expect(ctx.regionRegistries).toBeUndefined();
    ctx.close();
  });

  it('records the caller identity as cli:<arn>', async () => {
    stackOutputs(outputs());
    sts.on(GetCallerIdentityCommand).resolves({ Arn: 'arn:aws:sts::123456789012:assumed-role/ops/alice' });
    const ctx = await deployedContext('s', ENV);
    expect(await ctx.changedBy()).toBe('cli:arn:aws:sts::123456789012:assumed-role/ops/alice');
    ctx.close();
  });

  it('fails with MISSING_CONFIG when CloudFormation does not know the stack', async () => {
    const err = Object.assign(new Error('Stack with id nope does not exist'), { name: 'ValidationError' });
    cfn.on(DescribeStacksCommand).rejects(err);
    await expect(deployedContext('nope', ENV)).rejects.toMatchObject({ code: 'MISSING_CONFIG' });
  });

  it('fails with MISSING_CONFIG when a required output is missing', async () => {
    stackOutputs(outputs({ [STACK_OUTPUTS.TABLE_NAME]: undefined }));
    await expect(deployedContext('s', ENV)).rejects.toMatchObject({ code: 'MISSING_CONFIG' });
  });

  it('still reads the registry when the key-policy and policy outputs are missing, failing only where they are needed', async () => {
    const missing = { [STACK_OUTPUTS.ROTATE_ROLE_ARN]: undefined, [STACK_OUTPUTS.POLICY_JSON]: undefined };
    stackOutputs(outputs(missing));
    ddb.on(GetItemCommand).resolves({});
    const ctx = await deployedContext('s', ENV);
    expect(await ctx.registry.readState()).toMatchObject({ registryVersion: 0 });
    expect(() => ctx.vault).toThrow(expect.objectContaining({ code: 'MISSING_CONFIG' }));
    expect(() => ctx.policy).toThrow(expect.objectContaining({ code: 'MISSING_CONFIG' }));
    ctx.close();
  });

  it('rejects a policy output that breaks a policy rule with INVALID_POLICY', async () => {
    const bad = {
      [STACK_OUTPUTS.POLICY_JSON]: JSON.stringify({ rotationPeriod: '1d', prepublishLead: '2d' }),
    };
    stackOutputs(outputs(bad));
    const ctx = await deployedContext('s', ENV);
    expect(() => ctx.policy).toThrow(expect.objectContaining({ code: 'INVALID_POLICY' }));
    ctx.close();
  });
});
