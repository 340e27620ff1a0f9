/**
 * What no role of the deployment may ever do (issue 19, design §3 invariant 7, §11), evaluated like the
 * IAM contract: as the role, against the synthesized template's identity policies and the key policy —
 * the one src/core/key-policy.ts builds, and one an attacker who controls the rotator would write.
 * One region and two (`-c regions=us-east-1,eu-west-1 -c account=111122223333`). Each group also
 * checks the legitimate request next to the forbidden ones, so a denial cannot come from a malformed
 * request.
 */
import { describe, expect, it } from 'vitest';
import { ENV, KEY_TAGS } from '../../src/constants.ts';
import { buildKeyPolicy, parseRegionKeyPolicies } from '../../src/core/key-policy.ts';
import { define } from '../infra/multi-region-synth.ts';
import { synth } from '../infra/synth.ts';
import { evaluate } from '../support/iam-evaluator.ts';
import type { Context } from '../support/iam-requests.ts';
import { DeployedApp, type DeployedFunction, type PolicyDocument } from '../support/template-iam.ts';
import { type HandlerKind, kindOf } from './deployment-runner.ts';

const ACCOUNT = '111122223333';
const HOME = 'us-east-1';
const OTHER = 'eu-west-1';
const DEPLOYMENT = 'JwksPublisher-prod';

const deployments = {
  'one region': () => new DeployedApp([synth().stack], { account: ACCOUNT, region: HOME }),
  'two regions': () => {
    const { stacks } = define({ regions: `${HOME},${OTHER}` }, { account: ACCOUNT });
    return new DeployedApp([...stacks.bases, stacks.home, ...stacks.replicas], {
      account: ACCOUNT,
      region: HOME,
    });
  },
};

const keyArn = (region: string, id = 'mrk-0123456789abcdef0123456789abcdef') =>
  `arn:aws:kms:${region}:${ACCOUNT}:key/${id}`;
const tags = (deployment = DEPLOYMENT): Context => ({
  [`aws:RequestTag/${KEY_TAGS.DEPLOYMENT}`]: deployment,
  [`aws:RequestTag/${KEY_TAGS.KEY_REF}`]: 'ref-1',
  'aws:TagKeys': [KEY_TAGS.DEPLOYMENT, KEY_TAGS.KEY_REF],
});
const resourceTags: Context = {
  [`aws:ResourceTag/${KEY_TAGS.DEPLOYMENT}`]: DEPLOYMENT,
  [`aws:ResourceTag/${KEY_TAGS.KEY_REF}`]: 'ref-1',
};

/** A key policy written by a compromised rotator: everything to itself and to an outside account. */
const attackerKeyPolicy = (rotateRole: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Mine', Effect: 'Allow', Principal: { AWS: rotateRole }, Action: 'kms:*', Resource: '*' },
    {
      Sid: 'Account',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: 'kms:*',
      Resource: '*',
    },
  ],
});

for (const [name, build] of Object.entries(deployments)) {
  describe(`what no role may do, ${name}`, () => {
    const app = build();
    const functions = app.functions();
    const multi = name === 'two regions';
    const fn = (kind: HandlerKind, region = HOME): DeployedFunction => {
      const found = functions.find((f) => kindOf(f) === kind && f.region === region);
      if (!found) throw new Error(`no ${kind} in ${region}`);
      return found;
    };
    const rotate = fn('rotate');
    /** The policy this deployment's rotator gives a key made in `region` (src/core/key-policy.ts). */
    const realKeyPolicy = (region: string): PolicyDocument => {
      const regions = multi ? [HOME, OTHER] : [HOME];
      const env = rotate.environment;
      const principals = multi
        ? (parseRegionKeyPolicies(env[ENV.REGION_KEY_POLICIES] as string, regions, {
            accountId: ACCOUNT,
          }).get(region) as never)
        : {
            accountId: ACCOUNT,
            adminRoleArn: env[ENV.KEY_ADMIN_ROLE_ARN] as string,
            signerRoleArns: (env[ENV.KEY_SIGNER_ROLE_ARNS] as string).split(',').filter(Boolean),
            readerRoleArns: [],
          };
      const replicaRegions = regions.filter((r) => r !== region);
      return buildKeyPolicy(principals, 'RS256', { replicaRegions }) as unknown as PolicyDocument;
    };
    const as = (f: DeployedFunction) => ({
      arn: f.roleArn,
      account: ACCOUNT,
      identityPolicies: f.identityPolicies,
    });
    const decide = async (
      f: DeployedFunction,
      action: string,
      resource: string,
      context: Context,
      policy?: PolicyDocument,
    ) => {
      const verdict = await evaluate({ action, resource, context }, as(f), policy);
      expect(verdict.ignored, `${action} context`).toEqual([]);
      return verdict.result;
    };

    describe('the rotator', () => {
      const createKey = (over: Context = {}) => ({
        'aws:RequestedRegion': HOME,
        'kms:KeySpec': 'RSA_2048',
        'kms:KeyUsage': 'SIGN_VERIFY',
        'kms:KeyOrigin': 'AWS_KMS',
        'kms:MultiRegion': multi ? 'true' : 'false',
        'kms:BypassPolicyLockoutSafetyCheck': 'true',
        ...tags(),
        ...over,
      });

      it('never signs, grants, rewrites a key policy or imports key material, even when the key policy allows it', async () => {
        const key = keyArn(HOME);
        for (const policy of [realKeyPolicy(HOME), attackerKeyPolicy(rotate.roleArn)]) {
          const sign = {
            'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256',
            'kms:MessageType': 'DIGEST',
            ...resourceTags,
          };
          expect(await decide(rotate, 'kms:Sign', key, sign, policy)).not.toBe('Allowed');
          for (const action of [
            'kms:CreateGrant',
            'kms:PutKeyPolicy',
            'kms:ImportKeyMaterial',
            'kms:GetParametersForImport',
          ]) {
            expect(await decide(rotate, action, key, resourceTags, policy), action).not.toBe('Allowed');
          }
        }
        // The attacker's policy does allow it on its own: only the identity Deny stops it.
        expect(
          await decide(rotate, 'kms:Sign', key, { ...resourceTags }, attackerKeyPolicy(rotate.roleArn)),
        ).toBe('ExplicitlyDenied');
      });

      it('creates only signing keys of the spec, origin, regions and tags of the deployment', async () => {
        expect(await decide(rotate, 'kms:CreateKey', '*', createKey())).toBe('Allowed');
        const forbidden: Record<string, Context> = {
          'imported key material': createKey({ 'kms:KeyOrigin': 'EXTERNAL' }),
          'a CloudHSM key': createKey({ 'kms:KeyOrigin': 'AWS_CLOUDHSM' }),
          'another key spec': createKey({ 'kms:KeySpec': 'RSA_4096' }),
          'an encryption key': createKey({
            'kms:KeyUsage': 'ENCRYPT_DECRYPT',
            'kms:KeySpec': 'SYMMETRIC_DEFAULT',
          }),
          'a region outside the deployment': createKey({ 'aws:RequestedRegion': 'ap-south-1' }),
          'no tags': Object.fromEntries(
            Object.entries(createKey()).filter(
              ([k]) => !k.startsWith('aws:RequestTag') && k !== 'aws:TagKeys',
            ),
          ),
          "another deployment's tag": createKey(tags('SomeoneElse')),
          'the lockout check kept': createKey({ 'kms:BypassPolicyLockoutSafetyCheck': 'false' }),
          [multi ? 'a single-Region key' : 'a multi-Region key']: createKey({
            'kms:MultiRegion': multi ? 'false' : 'true',
          }),
          ...(multi ? {} : { 'a key in another region': createKey({ 'aws:RequestedRegion': OTHER }) }),
        };
        for (const [what, context] of Object.entries(forbidden)) {
          expect(await decide(rotate, 'kms:CreateKey', '*', context), what).not.toBe('Allowed');
        }
      });

      if (multi)
        it('creates in the other region only replicas of the deployment’s spec and origin', async () => {
          const there = (over: Context = {}) => createKey({ 'aws:RequestedRegion': OTHER, ...over });
          expect(await decide(rotate, 'kms:CreateKey', '*', there())).toBe('Allowed');
          const overrides: Context[] = [
            { 'kms:KeyOrigin': 'EXTERNAL' },
            { 'kms:KeySpec': 'RSA_4096' },
            { 'kms:MultiRegion': 'false' },
          ];
          for (const over of overrides) {
            expect(await decide(rotate, 'kms:CreateKey', '*', there(over)), JSON.stringify(over)).not.toBe(
              'Allowed',
            );
          }
        });

      if (multi)
        it('replicates a key whose primary is in another region (after a promotion) on that key’s policy alone', async () => {
          const promoted = fn('rotate', OTHER);
          const primary = keyArn(HOME);
          const replicate = { 'aws:RequestedRegion': HOME, 'kms:ReplicaRegion': OTHER, ...resourceTags };
          const policy = realKeyPolicy(HOME);
          expect(await decide(promoted, 'kms:ReplicateKey', primary, replicate, policy)).toBe('Allowed');
          // Not into a region outside the deployment.
          const elsewhere = { ...replicate, 'kms:ReplicaRegion': 'ap-south-1' };
          expect(await decide(promoted, 'kms:ReplicateKey', primary, elsewhere, policy)).not.toBe('Allowed');
        });
    });

    const item = (pk: string, attributes: string[]): Context => ({
      'dynamodb:LeadingKeys': [pk],
      'dynamodb:Attributes': ['pk', 'sk', ...attributes],
    });
    const table = (f: DeployedFunction) =>
      `arn:aws:dynamodb:${f.region}:${ACCOUNT}:table/${f.environment[ENV.TABLE_NAME] as string}`;
    const LIFECYCLE = [
      'status',
      'activeKid',
      'activeKeyRef',
      'pendingKid',
      'registryVersion',
      'primaryRegion',
      'epoch',
      'vaultKeyId',
      'publicJwk',
      'kid',
    ];
    const PROMOTION = ['epoch', 'region', 'promotedAt', 'changedBy', 'reason'];

    it('lets the publisher mark a publication and write nothing else in the registry', async () => {
      const publish = fn('publish');
      const write = multi ? 'dynamodb:PutItem' : 'dynamodb:UpdateItem';
      const mark = multi
        ? ['region', 'keyRef', 'kid', 'publishedAt']
        : ['publishedAt', 'version', 'changedBy', 'reason'];
      expect(await decide(publish, write, table(publish), item('REGISTRY', mark))).toBe('Allowed');
      // `kid` is one of a multi-region mark's own attributes: see ADR 0010 for what that leaves open.
      for (const attribute of LIFECYCLE.filter((a) => !mark.includes(a))) {
        for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem']) {
          expect(
            await decide(publish, action, table(publish), item('REGISTRY', [...mark, attribute])),
            `${action} ${attribute}`,
          ).not.toBe('Allowed');
        }
      }
      expect(
        await decide(publish, 'dynamodb:PutItem', table(publish), item('REGISTRY', PROMOTION)),
        'PROMOTION',
      ).not.toBe('Allowed');
      expect(await decide(publish, 'dynamodb:DeleteItem', table(publish), item('REGISTRY', []))).not.toBe(
        'Allowed',
      );
      const allOld = { ...item('REGISTRY', mark), 'dynamodb:ReturnValues': 'ALL_OLD' };
      expect(await decide(publish, write, table(publish), allOld), 'ReturnValues ALL_OLD').not.toBe(
        'Allowed',
      );
    });

    it('lets the token function record client assertion ids and write nothing in the registry', async () => {
      const token = fn('token');
      expect(await decide(token, 'dynamodb:PutItem', table(token), item('JTI#svc#1', ['ttl']))).toBe(
        'Allowed',
      );
      for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
        for (const attributes of [LIFECYCLE, PROMOTION, ['publishedAt']]) {
          expect(await decide(token, action, table(token), item('REGISTRY', attributes)), action).not.toBe(
            'Allowed',
          );
        }
      }
    });

    it('lets the canary only read the registry partition', async () => {
      const canary = fn('canary');
      expect(
        await decide(canary, 'dynamodb:Query', table(canary), { 'dynamodb:LeadingKeys': ['REGISTRY'] }),
      ).toBe('Allowed');
      for (const action of [
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:BatchWriteItem',
      ]) {
        expect(
          await decide(canary, action, table(canary), item('REGISTRY', ['publishedAt'])),
          action,
        ).not.toBe('Allowed');
      }
      const anyKey = { ...resourceTags, 'aws:RequestedRegion': HOME };
      for (const action of ['kms:Sign', 'kms:GetPublicKey']) {
        expect(await decide(canary, action, keyArn(HOME), anyKey), action).not.toBe('Allowed');
      }
      expect(await decide(canary, 'kms:CreateKey', '*', { 'aws:RequestedRegion': HOME })).not.toBe('Allowed');
    });

    it('lets no role but the token function read a client record (secret hashes)', async () => {
      const reads = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem', 'dynamodb:Scan'];
      for (const f of functions) {
        for (const action of reads) {
          const context: Context =
            action === 'dynamodb:Scan' ? {} : { 'dynamodb:LeadingKeys': ['CLIENT#svc'] };
          const result = await decide(f, action, table(f), context);
          const allowed = kindOf(f) === 'token' && action === 'dynamodb:GetItem';
          expect(result === 'Allowed', `${kindOf(f)}@${f.region} ${action}`).toBe(allowed);
        }
      }
    });
  });
}
