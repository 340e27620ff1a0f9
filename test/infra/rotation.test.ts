import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { assertPolicyRoundTrip, policyEnvironment } from '../../infra/environment.ts';
import { JwksPublisherStack } from '../../infra/jwks-publisher-stack.ts';
import { KeyRegistry } from '../../infra/key-registry.ts';
import { ROTATOR_DENIED_KMS_ACTIONS, RotationSchedule } from '../../infra/rotation-schedule.ts';
import { ENV, KEY_TAGS, OBJECT_KEYS, POLICY_ENV } from '../../src/constants.ts';
import { parsePolicy, policyInputFromEnv } from '../../src/core/policy.ts';
import { hasCode } from '../../src/errors.ts';
import {
  allowedActions,
  allowing,
  asArray,
  identityStatements,
  logicalId,
  roleStatements,
  synth,
} from './synth.ts';

const DESTRUCTIVE_OR_SIGNING = ['kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:Sign', 'kms:PutKeyPolicy'];

describe('RotationSchedule', () => {
  const { stack, template } = synth();
  const rotation = stack.publisher.rotation;
  const statements = roleStatements(template, rotation.handler.role);
  const deploymentName = stack.publisher.settings.deploymentName;

  it('allows kms:CreateKey only for SIGN_VERIFY keys of the policy spec tagged with this deployment when creating', () => {
    const [create, ...more] = allowing(statements, 'kms:CreateKey');
    expect(more).toHaveLength(0);
    expect(create?.Condition).toEqual({
      StringEquals: {
        [`aws:RequestTag/${KEY_TAGS.DEPLOYMENT}`]: deploymentName,
        'kms:KeyUsage': 'SIGN_VERIFY',
        'kms:KeySpec': 'RSA_2048',
        'aws:RequestedRegion': { Ref: 'AWS::Region' },
      },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [KEY_TAGS.DEPLOYMENT, KEY_TAGS.KEY_REF] },
      Null: { [`aws:RequestTag/${KEY_TAGS.KEY_REF}`]: 'false' },
      // Never imported key material (test/iam/deny-list.test.ts evaluates it).
      StringEqualsIfExists: { 'kms:KeyOrigin': 'AWS_KMS' },
      // Keys whose policy does not let this role PutKeyPolicy (core/key-policy.ts) need the bypass.
      Bool: { 'kms:BypassPolicyLockoutSafetyCheck': 'true' },
      BoolIfExists: { 'kms:MultiRegion': 'false' },
    });
  });

  it('denies the rotator signing, grants, key policy changes and imported key material on every key', () => {
    const denies = statements.filter((s) => s.Effect === 'Deny');
    expect(denies).toHaveLength(1);
    expect(denies[0]).toMatchObject({ Sid: 'NeverSignOrTakeOverKeys', Resource: '*' });
    expect(asArray(denies[0]?.Action).sort()).toEqual([...ROTATOR_DENIED_KMS_ACTIONS].sort());
    expect(denies[0]?.Condition).toBeUndefined();
  });

  it('allows kms:TagResource only with the same tag conditions, on keys of this account and region', () => {
    const [tag, ...more] = allowing(statements, 'kms:TagResource');
    expect(more).toHaveLength(0);
    expect(tag?.Condition?.StringEquals).toEqual({
      [`aws:RequestTag/${KEY_TAGS.DEPLOYMENT}`]: deploymentName,
    });
    expect(tag?.Condition?.['ForAllValues:StringEquals']).toEqual({
      'aws:TagKeys': [KEY_TAGS.DEPLOYMENT, KEY_TAGS.KEY_REF],
    });
    expect(JSON.stringify(tag?.Resource)).toMatch(/:kms:.*:key\/\*"/);
    expect(tag?.Resource).not.toBe('*');
  });

  it('limits kms:CreateKey to the key spec of the configured algorithm when algorithm is ES384', () => {
    const es = synth({ algorithm: 'ES384' });
    const [create] = allowing(
      roleStatements(es.template, es.stack.publisher.rotation.handler.role),
      'kms:CreateKey',
    );
    expect(create?.Condition?.StringEquals?.['kms:KeySpec']).toBe('ECC_NIST_P384');
  });

  it('grants no identity policy in the stack a destructive or signing KMS action', () => {
    const all = identityStatements(template);
    expect(all.length).toBeGreaterThan(5);
    for (const action of DESTRUCTIVE_OR_SIGNING) {
      expect(allowing(all, action), action).toEqual([]);
    }
    // Everything KMS the identity policies allow beyond the stack's own topic keys (the events
    // function encrypts its SNS messages): creating tagged signing keys, and reading the tags and public
    // halves of this deployment's keys (the publisher proves every record against the vault, design §11).
    const stackKeys = Object.keys(template.findResources('AWS::KMS::Key'));
    const onStackKey = (st: (typeof all)[number]) =>
      asArray(st.Resource).every((r) =>
        stackKeys.some((id) => JSON.stringify(r) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] })),
      );
    const kmsActions = new Set(
      allowedActions(all.filter((st) => !onStackKey(st))).filter((a) => /^kms:|^\*$/i.test(a)),
    );
    expect(kmsActions).toEqual(
      new Set(['kms:CreateKey', 'kms:TagResource', 'kms:GetPublicKey', 'kms:ListResourceTags']),
    );
    const onKeys = allowedActions(all.filter(onStackKey)).filter((a) => /^kms:/i.test(a));
    expect(new Set(onKeys)).toEqual(new Set(['kms:Decrypt', 'kms:GenerateDataKey*']));
  });

  it('keeps every wildcard-resource statement of the rotator to actions without resource-level permissions', () => {
    const wildcard = statements.filter((s) => asArray(s.Resource as string).includes('*'));
    expect(new Set(allowedActions(wildcard))).toEqual(new Set(['kms:CreateKey', 'tag:GetResources']));
  });

  it('gives the rotator read/write on the registry table only', () => {
    const dynamo = statements.filter((s) => allowedActions([s]).some((a) => a.startsWith('dynamodb:')));
    const tableId = logicalId(stack.publisher.registry.table);
    for (const s of dynamo) {
      for (const r of asArray(s.Resource)) expect(JSON.stringify(r)).toContain(tableId);
    }
    expect(allowedActions(dynamo)).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:Query']));
  });

  it('lets the rotator list, read and append to the revocation list and nothing else in S3', () => {
    const bucketId = logicalId(stack.publisher.storage.bucket);
    const s3Statements = statements.filter((s) => allowedActions([s]).some((a) => /^s3:/i.test(a)));
    const [list, ...moreLists] = allowing(s3Statements, 's3:ListBucket');
    expect(moreLists).toHaveLength(0);
    expect(asArray(list?.Action)).toEqual(['s3:ListBucket']);
    expect(list?.Resource).toEqual({ 'Fn::GetAtt': [bucketId, 'Arn'] });
    const [read, ...moreReads] = allowing(s3Statements, 's3:GetObject');
    expect(moreReads).toHaveLength(0);
    expect(asArray(read?.Action)).toEqual(['s3:GetObject']);
    expect(read?.Resource).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${OBJECT_KEYS.REVOCATIONS_PREFIX}*`]],
    });
    // `revoke` appends to the list; the bucket policy keeps it create-only.
    const [append, ...moreAppends] = allowing(s3Statements, 's3:PutObject');
    expect(moreAppends).toHaveLength(0);
    expect(append?.Resource).toEqual(read?.Resource);
    expect(new Set(allowedActions(s3Statements))).toEqual(
      new Set(['s3:ListBucket', 's3:GetObject', 's3:PutObject']),
    );
    for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:PutBucketPolicy']) {
      expect(allowing(statements, action), action).toEqual([]);
    }
  });

  it('tells the rotator which bucket holds the revocation list', () => {
    const fn = template.toJSON().Resources[logicalId(rotation.handler.function)].Properties;
    expect(fn.Environment.Variables[ENV.BUCKET_NAME]).toEqual({
      Ref: logicalId(stack.publisher.storage.bucket),
    });
  });

  it('names the rotator role as key administrator and the token role as the only signer by default', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: {
        Variables: Match.objectLike({
          [ENV.KEY_ADMIN_ROLE_ARN]: { 'Fn::GetAtt': [logicalId(rotation.handler.role), 'Arn'] },
          [ENV.KEY_SIGNER_ROLE_ARNS]: {
            'Fn::GetAtt': [logicalId(stack.publisher.token.handler.role), 'Arn'],
          },
          [ENV.KEY_READER_ROLE_ARNS]: '',
          [ENV.DEPLOYMENT_NAME]: deploymentName,
          [ENV.TABLE_NAME]: { Ref: logicalId(stack.publisher.registry.table) },
        }),
      },
    });
  });

  it('names signer and reader roles from context in the key-policy environment', () => {
    const signers = 'arn:aws:iam::123456789012:role/token, arn:aws:iam::123456789012:role/batch-signer';
    const custom = synth({
      keySignerRoleArns: signers,
      keyReaderRoleArns: 'arn:aws:iam::123456789012:role/audit',
    });
    const fnId = logicalId(custom.stack.publisher.rotation.handler.function);
    expect(custom.template.toJSON().Resources[fnId].Properties.Environment.Variables).toMatchObject({
      // Context signers first, then the token function's role (always a signer).
      [ENV.KEY_SIGNER_ROLE_ARNS]: {
        'Fn::Join': [
          '',
          [
            'arn:aws:iam::123456789012:role/token,arn:aws:iam::123456789012:role/batch-signer,',
            { 'Fn::GetAtt': [logicalId(custom.stack.publisher.token.handler.role), 'Arn'] },
          ],
        ],
      },
      [ENV.KEY_READER_ROLE_ARNS]: 'arn:aws:iam::123456789012:role/audit',
    });
  });

  it('refuses a signer that is not an IAM role ARN, naming keySignerRoleArns', () => {
    expect(() => synth({ keySignerRoleArns: 'arn:aws:iam::123456789012:user/alice' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', variable: 'keySignerRoleArns' }),
    );
  });

  it('renders the policy into the environment so the handlers parse back the synth-time policy', () => {
    const custom = synth({
      rotationPeriod: '14d',
      prepublishLead: '2d',
      jwksMaxAge: '60s',
      kmsDeletionWindow: '7',
    });
    const fn = custom.template.findResources('AWS::Lambda::Function', {
      Properties: {
        Role: { 'Fn::GetAtt': [logicalId(custom.stack.publisher.rotation.handler.role), 'Arn'] },
      },
    });
    const env = Object.values(fn)[0]?.Properties.Environment.Variables as Record<string, string>;
    expect(env[POLICY_ENV.rotationPeriod]).toBe('14d');
    expect(env[POLICY_ENV.kmsDeletionWindow]).toBe('7d');
    expect(parsePolicy(policyInputFromEnv(env)).policy).toEqual(custom.stack.publisher.settings.policy);
  });

  it('runs the reconciler hourly', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(rotation.handler.function), 'Arn'] } })],
    });
  });

  it('refuses an intentTimeout no longer than the rotate function timeout', () => {
    const scope = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S');
    const { policy } = parsePolicy({ intentTimeout: '60s' });
    const build = () =>
      new RotationSchedule(scope, 'Rotation', {
        table: new KeyRegistry(scope, 'Registry').table,
        bucket: new s3.Bucket(scope, 'Bucket'),
        deploymentName: 'd',
        policy,
        environment: {},
        timeout: Duration.seconds(60),
      });
    expect(build).toThrow(expect.objectContaining({ code: 'INVALID_POLICY', setting: 'intentTimeout' }));
  });

  it('carries intentTimeout to the handlers when it is given as context or as a prop', () => {
    const custom = synth({ intentTimeout: '30m' });
    const fnId = logicalId(custom.stack.publisher.rotation.handler.function);
    const env = custom.template.toJSON().Resources[fnId].Properties.Environment.Variables;
    expect(env[ENV.INTENT_TIMEOUT]).toBe('30m');
    expect(parsePolicy(policyInputFromEnv(env)).policy.intentTimeout).toBe(30 * 60_000);

    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const fromProp = new JwksPublisherStack(app, 'S', { publisher: { policy: { intentTimeout: '45m' } } });
    expect(fromProp.publisher.settings.policy.intentTimeout).toBe(45 * 60_000);
  });

  it('refuses an environment that would not carry a setting of the synth-time policy, naming it', () => {
    const { policy } = parsePolicy({
      intentTimeout: '30m',
      rotationPeriod: '14d',
      prepublishLead: '2d',
      kmsDeletionWindow: '7',
    });
    const env = policyEnvironment(policy);
    expect(() => assertPolicyRoundTrip(policy, env)).not.toThrow();
    let checked = 0;
    for (const [setting, variable] of Object.entries(POLICY_ENV)) {
      const { [variable]: _dropped, ...without } = env;
      const changed =
        JSON.stringify(parsePolicy(policyInputFromEnv(without)).policy) !== JSON.stringify(policy);
      if (!changed) continue; // the default happens to equal the setting
      checked++;
      let error: unknown;
      try {
        assertPolicyRoundTrip(policy, without);
      } catch (err) {
        error = err;
      }
      expect(hasCode(error, 'INVALID_POLICY'), setting).toBe(true);
      expect(error).toMatchObject({
        setting: setting === 'kmsDeletionWindow' ? 'kmsDeletionWindowDays' : setting,
      });
    }
    expect(checked).toBe(4);
  });
});
