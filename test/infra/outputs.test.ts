/**
 * The stack outputs are the CLI's view of a deployment (`--stack` mode). Beyond their names, these
 * tests feed the synthesized values to the CLI's own reader (`deployedContext`, with CloudFormation
 * and KMS mocked) and check it builds what the deployed functions build: the same key policy as the
 * rotate function from its environment, and the synth-time lifecycle policy.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { Match } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_BUCKET_OUTPUT } from '../../src/cli/commands/audit.ts';
import { deployedContext } from '../../src/cli/deployed-context.ts';
import { listEnv } from '../../src/config.ts';
import { EMPTY_LIST_OUTPUT, ENV, PATHS, STACK_OUTPUTS } from '../../src/constants.ts';
import { buildKeyPolicy } from '../../src/core/key-policy.ts';
import { logicalId, type Synthesized, synth } from './synth.ts';

const cfn = mockClient(CloudFormationClient);
const kms = mockClient(KMSClient);
const AWS_ENV = { AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
/** What CloudFormation would resolve the tokens to: only the rotate and token roles' ARNs have to be ARNs. */
const ROTATE_ROLE = 'arn:aws:iam::123456789012:role/JwksPublisher-prod-Rotate';
const TOKEN_ROLE = 'arn:aws:iam::123456789012:role/JwksPublisher-prod-Token';
const SIGNERS = ['arn:aws:iam::123456789012:role/signer', 'arn:aws:iam::123456789012:role/batch'];

beforeEach(() => {
  cfn.reset();
  kms.reset();
  kms.on(CreateKeyCommand).resolves({
    KeyMetadata: { KeyId: 'k', Arn: 'arn:aws:kms:eu-central-1:123456789012:key/k' },
  });
});

const outputsOf = (s: Synthesized) => s.template.toJSON().Outputs as Record<string, { Value: unknown }>;

/**
 * A value as CloudFormation would resolve it, for the role ARNs only: the token role's `Arn` becomes
 * TOKEN_ROLE (inside a `Fn::Join` too); anything else unresolvable is undefined.
 */
function resolveRoles(s: Synthesized, value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const v = value as { 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
  if (v['Fn::GetAtt']?.[0] === logicalId(s.stack.publisher.token.handler.role)) return TOKEN_ROLE;
  if (v['Fn::Join']) {
    const parts = v['Fn::Join'][1].map((part) => resolveRoles(s, part));
    return parts.every((p) => p !== undefined) ? parts.join(v['Fn::Join'][0]) : undefined;
  }
  return undefined;
}

/** The outputs as DescribeStacks would return them once deployed: literals as they are, tokens faked. */
function deployedOutputs(s: Synthesized) {
  return Object.entries(outputsOf(s)).map(([OutputKey, { Value }]) => ({
    OutputKey,
    OutputValue:
      resolveRoles(s, Value) ??
      (OutputKey === STACK_OUTPUTS.ROTATE_ROLE_ARN
        ? ROTATE_ROLE
        : OutputKey === STACK_OUTPUTS.JWKS_URL
          ? `https://d111.cloudfront.net${PATHS.JWKS}`
          : `resolved-${OutputKey}`),
  }));
}

/** The key policy the CLI (`rotate`/`revoke` in --stack mode) creates a key with. */
async function cliKeyPolicy(s: Synthesized): Promise<unknown> {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 's',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: deployedOutputs(s),
      },
    ],
  });
  const ctx = await deployedContext('s', AWS_ENV);
  try {
    await ctx.vault.createKey({ keyRef: 'r', alg: 'RS256' });
  } finally {
    ctx.close();
  }
  return JSON.parse(kms.commandCalls(CreateKeyCommand)[0]?.args[0].input.Policy ?? 'null');
}

/** The key policy the rotate function creates a key with, from its synthesized environment. */
function rotateKeyPolicy(s: Synthesized): unknown {
  const fn = s.template.toJSON().Resources[logicalId(s.stack.publisher.rotation.handler.function)];
  const env = fn.Properties.Environment.Variables as Record<string, unknown>;
  const text = (name: string) => resolveRoles(s, env[name]) ?? '';
  return buildKeyPolicy(
    {
      accountId: '123456789012',
      adminRoleArn: ROTATE_ROLE,
      signerRoleArns: listEnv(
        { [ENV.KEY_SIGNER_ROLE_ARNS]: text(ENV.KEY_SIGNER_ROLE_ARNS) },
        ENV.KEY_SIGNER_ROLE_ARNS,
      ),
      readerRoleArns: listEnv(
        { [ENV.KEY_READER_ROLE_ARNS]: text(ENV.KEY_READER_ROLE_ARNS) },
        ENV.KEY_READER_ROLE_ARNS,
      ),
    },
    'RS256',
  );
}

describe('stack outputs', () => {
  const dev = synth({ envName: 'dev' });
  const outputs = outputsOf(dev);

  it('declares exactly the outputs of STACK_OUTPUTS, under their stable names', () => {
    expect(Object.keys(outputs).sort()).toEqual(Object.values(STACK_OUTPUTS).sort());
  });

  it('points JwksUrl at CloudFront and ApiJwksUrl at the stage path', () => {
    const jwks = JSON.stringify(outputs[STACK_OUTPUTS.JWKS_URL]?.Value);
    expect(jwks).toContain('DomainName');
    expect(jwks).toMatch(new RegExp(`${PATHS.JWKS.replaceAll('.', '\\.')}"\\]\\]}$`));
    const api = JSON.stringify(outputs[STACK_OUTPUTS.API_JWKS_URL]?.Value);
    expect(api).toContain('.execute-api.');
    dev.template.hasOutput(STACK_OUTPUTS.API_JWKS_URL, {
      Value: { 'Fn::Join': ['', Match.arrayWith([{ Ref: Match.stringLikeRegexp('Stagedev') }, PATHS.JWKS])] },
    });
  });

  it('names the events topic and the audit bucket, under the name the audit command reads', () => {
    expect(outputs[STACK_OUTPUTS.TOPIC_ARN]?.Value).toEqual({
      Ref: logicalId(dev.stack.publisher.events.topic),
    });
    expect(outputs[STACK_OUTPUTS.AUDIT_BUCKET_NAME]?.Value).toEqual({
      Ref: logicalId(dev.stack.publisher.events.auditBucket),
    });
    expect(STACK_OUTPUTS.AUDIT_BUCKET_NAME).toBe(AUDIT_BUCKET_OUTPUT);
  });

  it('names the rotate role as RotateRoleArn', () => {
    expect(outputs[STACK_OUTPUTS.ROTATE_ROLE_ARN]?.Value).toEqual({
      'Fn::GetAtt': [logicalId(dev.stack.publisher.rotation.handler.role), 'Arn'],
    });
  });

  it('names the rotate and publish functions, which operator commands invoke with --stack', () => {
    expect(outputs[STACK_OUTPUTS.ROTATE_FUNCTION_NAME]?.Value).toEqual({
      Ref: logicalId(dev.stack.publisher.rotation.handler.function),
    });
    expect(outputs[STACK_OUTPUTS.PUBLISH_FUNCTION_NAME]?.Value).toEqual({
      Ref: logicalId(dev.stack.publisher.publication.handler.function),
    });
  });

  it('writes an empty role list as the placeholder, never as an empty value', () => {
    expect(outputs[STACK_OUTPUTS.READER_ROLE_ARNS]?.Value).toBe(EMPTY_LIST_OUTPUT);
  });

  it('names the token role as the one signer when no other signer is named', () => {
    expect(outputs[STACK_OUTPUTS.SIGNER_ROLE_ARNS]?.Value).toEqual({
      'Fn::GetAtt': [logicalId(dev.stack.publisher.token.handler.role), 'Arn'],
    });
  });

  it('points TokenEndpointUrl at /oauth2/token under the issuer and names the token function', () => {
    expect(outputs[STACK_OUTPUTS.TOKEN_ENDPOINT_URL]?.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'https://',
          { 'Fn::GetAtt': [logicalId(dev.stack.publisher.distribution.distribution), 'DomainName'] },
          PATHS.TOKEN,
        ],
      ],
    });
    expect(outputs[STACK_OUTPUTS.TOKEN_FUNCTION_NAME]?.Value).toEqual({
      Ref: logicalId(dev.stack.publisher.token.handler.function),
    });
  });

  it('lets the CLI create keys with the key policy the rotate function uses when only the token role signs', async () => {
    const policy = (await cliKeyPolicy(dev)) as { Statement: Array<{ Sid: string; Principal: unknown }> };
    expect(policy).toEqual(rotateKeyPolicy(dev));
    expect(policy.Statement.map((s) => s.Sid)).toEqual([
      'AccountAdministration',
      'RotationRole',
      'SignersSign',
      'SignersRead',
    ]);
    expect(policy.Statement.find((s) => s.Sid === 'SignersSign')?.Principal).toEqual({ AWS: TOKEN_ROLE });
  });

  it('lets the CLI create keys with the key policy the rotate function uses when signers and readers are named', async () => {
    const named = synth({
      keySignerRoleArns: SIGNERS.join(','),
      keyReaderRoleArns: 'arn:aws:iam::123456789012:role/audit',
    });
    expect(resolveRoles(named, outputsOf(named)[STACK_OUTPUTS.SIGNER_ROLE_ARNS]?.Value)).toBe(
      [...SIGNERS, TOKEN_ROLE].join(','),
    );
    const policy = (await cliKeyPolicy(named)) as { Statement: Array<{ Sid: string; Principal: unknown }> };
    expect(policy).toEqual(rotateKeyPolicy(named));
    expect(policy.Statement.find((s) => s.Sid === 'SignersSign')?.Principal).toEqual({
      AWS: [...SIGNERS, TOKEN_ROLE].sort(),
    });
    expect(policy.Statement.map((s) => s.Sid)).toContain('Readers');
  });

  it('gives the CLI the synth-time lifecycle policy through PolicyJson, durations as strings', async () => {
    const custom = synth({
      rotationPeriod: '14d',
      prepublishLead: '2d',
      jwksMaxAge: '60s',
      kmsDeletionWindow: '7',
      intentTimeout: '20m',
      algorithm: 'ES256',
    });
    const json = JSON.parse(outputsOf(custom)[STACK_OUTPUTS.POLICY_JSON]?.Value as string);
    expect(json).toMatchObject({ rotationPeriod: '14d', kmsDeletionWindow: '7d', intentTimeout: '20m' });
    for (const value of Object.values(json)) expect(typeof value).toBe('string');
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 's',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: deployedOutputs(custom),
        },
      ],
    });
    const ctx = await deployedContext('s', AWS_ENV);
    expect(ctx.policy).toEqual(custom.stack.publisher.settings.policy);
    ctx.close();
  });
});
