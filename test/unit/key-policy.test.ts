import { describe, expect, it } from 'vitest';
import {
  buildKeyPolicy as buildFor,
  type KeyPolicyDocument,
  type KeyPolicyPrincipals,
  parseRegionKeyPolicies,
} from '../../src/core/key-policy.ts';

const ACCOUNT = '111122223333';
const buildKeyPolicy = (p: KeyPolicyPrincipals) => buildFor(p, 'RS256');
const role = (name: string, account = ACCOUNT, partition = 'aws') =>
  `arn:${partition}:iam::${account}:role/${name}`;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

const principals = (over: Partial<KeyPolicyPrincipals> = {}): KeyPolicyPrincipals => ({
  accountId: ACCOUNT,
  adminRoleArn: role('rotate'),
  signerRoleArns: [role('token')],
  readerRoleArns: [role('publish')],
  ...over,
});

/** Who the policy lets do `action` (key policies only Allow here, so the union of matching statements). */
const allowed = (policy: KeyPolicyDocument, action: string): string[] =>
  policy.Statement.filter((s) => s.Action.includes(action))
    .flatMap((s) => (typeof s.Principal.AWS === 'string' ? [s.Principal.AWS] : [...s.Principal.AWS]))
    .sort();

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('buildKeyPolicy', () => {
  it('grants kms:Sign to nobody when there is no signer role', () => {
    const policy = buildKeyPolicy(principals({ signerRoleArns: [] }));
    expect(allowed(policy, 'kms:Sign')).toEqual([]);
    expect(policy.Statement.map((s) => s.Sid)).not.toContain('SignersSign');
  });

  it('lets only the signer roles kms:Sign', () => {
    const policy = buildKeyPolicy(principals({ signerRoleArns: [role('token'), role('cli')] }));
    expect(allowed(policy, 'kms:Sign')).toEqual([role('cli'), role('token')]);
    expect(allowed(policy, 'kms:CreateGrant')).toEqual([]);
  });

  it('never lets the rotation role change the policy, so it cannot grant itself kms:Sign', () => {
    const policy = buildKeyPolicy(principals());
    expect(allowed(policy, 'kms:PutKeyPolicy')).toEqual([ROOT]);
    expect(allowed(policy, 'kms:CreateGrant')).toEqual([]);
    const rotatorActions = policy.Statement.filter((s) => s.Principal.AWS === role('rotate')).flatMap(
      (s) => s.Action,
    );
    expect(rotatorActions.sort()).toEqual([
      'kms:DescribeKey',
      'kms:DisableKey',
      'kms:GetPublicKey',
      'kms:ScheduleKeyDeletion',
    ]);
  });

  it.each([
    ['RS256', 'RSASSA_PKCS1_V1_5_SHA_256'],
    ['PS256', 'RSASSA_PSS_SHA_256'],
    ['ES256', 'ECDSA_SHA_256'],
    ['ES384', 'ECDSA_SHA_384'],
  ] as const)('lets signers kms:Sign only with %s (%s) over a digest', (alg, kmsAlg) => {
    const policy = buildFor(principals({ signerRoleArns: [role('token')] }), alg);
    const sign = policy.Statement.filter((s) => s.Action.includes('kms:Sign'));
    expect(sign).toHaveLength(1);
    expect(sign[0]?.Condition).toEqual({
      StringEquals: { 'kms:SigningAlgorithm': kmsAlg, 'kms:MessageType': 'DIGEST' },
    });
    // Reading the public key needs no such condition (the condition keys do not exist for it).
    expect(allowed(policy, 'kms:GetPublicKey')).toContain(role('token'));
    for (const s of policy.Statement.filter((st) => st.Condition)) expect(s.Action).toEqual(['kms:Sign']);
  });

  it('throws UNSUPPORTED_ALGORITHM for an algorithm KMS keys of this system do not sign with', () => {
    expect(codeOf(() => buildFor(principals(), 'HS256' as never))).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('lets the rotation role do what the reconciler does, and not sign', () => {
    const policy = buildKeyPolicy(principals());
    for (const action of [
      'kms:DescribeKey',
      'kms:GetPublicKey',
      'kms:DisableKey',
      'kms:ScheduleKeyDeletion',
    ]) {
      expect(allowed(policy, action)).toContain(role('rotate'));
    }
    expect(allowed(policy, 'kms:Sign')).not.toContain(role('rotate'));
  });

  it('lets the account administer the key (so it never becomes unmanageable) but not use it', () => {
    const policy = buildKeyPolicy(principals());
    for (const action of [
      'kms:PutKeyPolicy',
      'kms:ScheduleKeyDeletion',
      'kms:CancelKeyDeletion',
      'kms:DescribeKey',
    ]) {
      expect(allowed(policy, action)).toContain(ROOT);
    }
    expect(allowed(policy, 'kms:Sign')).not.toContain(ROOT);
  });

  it('lets readers read the public key and nothing else', () => {
    const policy = buildKeyPolicy(principals({ readerRoleArns: [role('publish')] }));
    const readerActions = policy.Statement.filter((s) => s.Principal.AWS === role('publish')).flatMap(
      (s) => s.Action,
    );
    expect(readerActions.sort()).toEqual(['kms:DescribeKey', 'kms:GetPublicKey']);
  });

  it('names no principal beyond the account, the rotation role, signers and readers, and no wildcard', () => {
    const p = principals({ readerRoleArns: [role('publish'), role('audit')] });
    const policy = buildKeyPolicy(p);
    const named = new Set(
      policy.Statement.flatMap((s) =>
        typeof s.Principal.AWS === 'string' ? [s.Principal.AWS] : s.Principal.AWS,
      ),
    );
    expect([...named].sort()).toEqual(
      [ROOT, p.adminRoleArn, ...p.signerRoleArns, ...p.readerRoleArns].sort(),
    );
    const json = JSON.stringify(policy);
    expect(json).not.toMatch(/"kms:\*"|"\*:|"AWS":"\*"|kms:[A-Za-z]*\*/);
    expect(policy.Statement.every((s) => s.Effect === 'Allow' && s.Resource === '*')).toBe(true);
  });

  it('omits the readers statement when there are no readers', () => {
    const policy = buildKeyPolicy(principals({ readerRoleArns: [] }));
    expect(policy.Statement.every((s) => s.Principal.AWS.length > 0)).toBe(true);
    expect(allowed(policy, 'kms:GetPublicKey')).toEqual([ROOT, role('rotate'), role('token')].sort());
  });

  it('gives the same bytes when roles are reordered or repeated', () => {
    const a = buildKeyPolicy(
      principals({ signerRoleArns: [role('a'), role('b')], readerRoleArns: [role('r')] }),
    );
    const b = buildKeyPolicy(
      principals({
        signerRoleArns: [role('b'), role('a'), role('b')],
        readerRoleArns: [role('r'), role('r')],
      }),
    );
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('uses the partition in the account principal when given aws-cn', () => {
    const policy = buildKeyPolicy({
      accountId: ACCOUNT,
      partition: 'aws-cn',
      adminRoleArn: role('rotate', ACCOUNT, 'aws-cn'),
      signerRoleArns: [role('token', ACCOUNT, 'aws-cn')],
      readerRoleArns: [],
    });
    expect(allowed(policy, 'kms:PutKeyPolicy')).toContain(`arn:aws-cn:iam::${ACCOUNT}:root`);
  });

  it('throws INVALID_ARGUMENT when given a bad account, a non-role ARN, a foreign partition', () => {
    expect(codeOf(() => buildKeyPolicy(principals({ accountId: '1234' })))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(() => buildKeyPolicy(principals({ adminRoleArn: `arn:aws:iam::${ACCOUNT}:user/bob` }))),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildKeyPolicy(principals({ signerRoleArns: ['*'] })))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => buildKeyPolicy(principals({ readerRoleArns: [role('r', ACCOUNT, 'aws-cn')] })))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => buildKeyPolicy(principals({ partition: 'evil' })))).toBe('INVALID_ARGUMENT');
  });

  describe('multi-region (ADR 0008)', () => {
    const admins = [role('rotate-eu-west-1'), role('rotate-us-east-1')];

    it('names every administrator in one RotationRole statement, with the single-admin actions', () => {
      const policy = buildKeyPolicy(
        principals({ adminRoleArn: undefined, adminRoleArns: [...admins].reverse() }),
      );
      const rotation = policy.Statement.find((s) => s.Sid === 'RotationRole');
      expect(rotation?.Principal.AWS).toEqual(admins);
      expect(rotation?.Action).toEqual([
        'kms:DescribeKey',
        'kms:DisableKey',
        'kms:GetPublicKey',
        'kms:ScheduleKeyDeletion',
      ]);
      expect(allowed(policy, 'kms:Sign')).toEqual([role('token')]);
    });

    it('gives a single administrator the same bytes whether named alone or in the list', () => {
      const alone = buildKeyPolicy(principals());
      const listed = buildKeyPolicy(principals({ adminRoleArn: undefined, adminRoleArns: [role('rotate')] }));
      expect(JSON.stringify(listed)).toBe(JSON.stringify(alone));
      expect(alone.Statement.find((s) => s.Sid === 'RotationRole')?.Principal.AWS).toBe(role('rotate'));
    });

    it('throws INVALID_ARGUMENT when no administrator is named at all', () => {
      expect(codeOf(() => buildKeyPolicy(principals({ adminRoleArn: undefined })))).toBe('INVALID_ARGUMENT');
    });

    it('lets the administrators replicate a primary only into the given regions, and nobody else', () => {
      const policy = buildFor(principals({ adminRoleArns: admins }), 'ES256', {
        replicaRegions: ['us-east-1', 'ap-southeast-2', 'us-east-1'],
      });
      expect(allowed(policy, 'kms:ReplicateKey')).toEqual([role('rotate'), ...admins].sort());
      const replicate = policy.Statement.filter((s) => s.Action.includes('kms:ReplicateKey'));
      expect(replicate).toHaveLength(1);
      expect(replicate[0]?.Action).toEqual(['kms:ReplicateKey']);
      expect(replicate[0]?.Condition).toEqual({
        StringEquals: { 'kms:ReplicaRegion': ['ap-southeast-2', 'us-east-1'] },
      });
    });

    it('lets nobody replicate a single-Region key or a replica', () => {
      expect(allowed(buildKeyPolicy(principals()), 'kms:ReplicateKey')).toEqual([]);
      expect(allowed(buildFor(principals(), 'RS256', { replicaRegions: [] }), 'kms:ReplicateKey')).toEqual(
        [],
      );
    });
  });
});

describe('parseRegionKeyPolicies', () => {
  const regions = ['eu-west-1', 'us-east-1'];
  const entry = (region: string) => ({
    adminRoleArns: regions.map((r) => role(`rotate-${r}`)),
    signerRoleArns: [role(`token-${region}`)],
    readerRoleArns: [role(`publish-${region}`)],
  });
  const json = (doc: unknown) => JSON.stringify(doc);
  const valid = () => Object.fromEntries(regions.map((r) => [r, entry(r)]));
  const parse = (text: string) => parseRegionKeyPolicies(text, regions, { accountId: ACCOUNT });

  it("gives each region its own principals, ready for that region's replica policy", () => {
    const parsed = parse(json(valid()));
    expect([...parsed.keys()]).toEqual(regions);
    const us = buildKeyPolicy(parsed.get('us-east-1') as KeyPolicyPrincipals);
    expect(allowed(us, 'kms:Sign')).toEqual([role('token-us-east-1')]);
    expect(allowed(us, 'kms:DisableKey')).toEqual(
      [ROOT, role('rotate-eu-west-1'), role('rotate-us-east-1')].sort(),
    );
  });

  it('takes a missing signer or reader list as none', () => {
    const doc = valid();
    doc['us-east-1'] = { adminRoleArns: entry('us-east-1').adminRoleArns } as never;
    expect(parse(json(doc)).get('us-east-1')?.signerRoleArns).toEqual([]);
  });

  it.each([
    ['text that is not JSON', '{"eu-west-1":'],
    ['a JSON array', '[]'],
    ['a region of REGIONS left out', json({ 'eu-west-1': entry('eu-west-1') })],
    ['a region not in REGIONS', json({ ...valid(), 'eu-west-3': entry('eu-west-1') })],
    [
      'a list that is not an array of strings',
      json({ ...valid(), 'us-east-1': { ...entry('us-east-1'), signerRoleArns: 'x' } }),
    ],
    [
      'a malformed role ARN',
      json({ ...valid(), 'us-east-1': { ...entry('us-east-1'), readerRoleArns: ['*'] } }),
    ],
    [
      'a region without an administrator',
      json({ ...valid(), 'us-east-1': { ...entry('us-east-1'), adminRoleArns: [] } }),
    ],
    [
      'an administrator of another account',
      json({
        ...valid(),
        'us-east-1': { ...entry('us-east-1'), adminRoleArns: [role('rotate', '999999999999')] },
      }),
    ],
  ])('throws INVALID_ARGUMENT for %s', (_what, text) => {
    expect(codeOf(() => parse(text))).toBe('INVALID_ARGUMENT');
  });
});
