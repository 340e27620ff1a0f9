import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  KMSInternalException,
  ReplicateKeyCommand,
  ScheduleKeyDeletionCommand,
  SignCommand,
} from '@aws-sdk/client-kms';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { importJWK, jwtVerify } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsKeyVault } from '../../src/adapters/aws/kms.ts';
import { KEY_TAGS } from '../../src/constants.ts';
import { compactJws, jwsSigningInput } from '../../src/core/jws.ts';
import type { KeyPolicyDocument, KeyPolicyPrincipals } from '../../src/core/key-policy.ts';
import { ACCOUNT, arnOf, FakeKmsRegions } from '../support/fake-kms-regions.ts';

const A = 'eu-west-1';
const B = 'us-east-1';
const C = 'ap-southeast-2';
const REGIONS = [A, B, C];
const role = (name: string, region: string) => `arn:aws:iam::${ACCOUNT}:role/${name}-${region}`;
/** REGION_KEY_POLICIES: every region's rotate role administers, each region's own token role signs. */
const policyOf = (region: string): KeyPolicyPrincipals => ({
  accountId: ACCOUNT,
  adminRoleArns: REGIONS.map((r) => role('rotate', r)),
  signerRoleArns: [role('token', region)],
  readerRoleArns: [role('publish', region)],
});
const TAGS = (keyRef: string) => [
  { TagKey: KEY_TAGS.DEPLOYMENT, TagValue: 'prod' },
  { TagKey: KEY_TAGS.KEY_REF, TagValue: keyRef },
];
const WAIT = { timeoutMs: 5_000, intervalMs: 1_000 };
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

const world = new FakeKmsRegions(REGIONS);
const tagging = new ResourceGroupsTaggingAPIClient({ region: B });
const taggingMock = mockClient(tagging);

describe('KmsKeyVault with multi-Region keys', () => {
  let now: number;
  let sleeps: number[];

  /** The vault of `region`: the rotate function's (with replicas) or a signer's (region only). */
  const vaultIn = (region: string, opts: { replicas?: boolean } = {}) =>
    new KmsKeyVault({
      kms: world.client(region),
      tagging,
      deploymentName: 'prod',
      keyPolicy: policyOf(region),
      region,
      replicas:
        opts.replicas === false
          ? []
          : REGIONS.filter((r) => r !== region).map((r) => ({
              region: r,
              kms: world.client(r),
              keyPolicy: policyOf(r),
            })),
      replicaWait: {
        ...WAIT,
        clock: () => now,
        sleep: async (ms) => {
          sleeps.push(ms);
          now += ms;
        },
      },
    });
  /** The inputs of every `command` request sent to `region`'s client. */
  const inputs = <C extends abstract new (...args: never[]) => { input: object }>(
    region: string,
    command: C,
  ) =>
    (world.stubs[region]?.commandCalls(command as never) ?? []).map(
      (c) => (c.args[0] as unknown as InstanceType<C>).input as InstanceType<C>['input'],
    );
  const policyIn = (region: string, keyId: string) =>
    JSON.parse(world.key(region, keyId)?.policy ?? '{}') as KeyPolicyDocument;
  const principalsOf = (policy: KeyPolicyDocument, sid: string) => {
    const p = policy.Statement.find((s) => s.Sid === sid)?.Principal.AWS;
    return typeof p === 'string' ? [p] : [...(p ?? [])];
  };

  beforeEach(() => {
    world.reset();
    taggingMock.reset();
    now = Date.UTC(2030, 0, 1);
    sleeps = [];
  });

  /** Create in A and replicate, as the reconciler does; returns the ARN the registry keeps. */
  const createReplicated = async (keyRef = 'ref-1') => {
    const vault = vaultIn(A);
    const { vaultKeyId } = await vault.createKey({ keyRef, alg: 'RS256' });
    await vault.ensureReplicas(vaultKeyId);
    return vaultKeyId;
  };
  const keyIdOf = (arn: string) => arn.split('/')[1] as string;

  it('creates a MultiRegion primary whose policy lets every rotate role replicate it into the other regions only', async () => {
    const { vaultKeyId } = await vaultIn(A).createKey({ keyRef: 'ref-1', alg: 'RS256' });
    const [input] = inputs(A, CreateKeyCommand);
    expect(input?.MultiRegion).toBe(true);
    expect(input?.BypassPolicyLockoutSafetyCheck).toBe(true);
    expect(input?.Tags).toEqual(TAGS('ref-1'));
    expect(vaultKeyId).toMatch(new RegExp(`^arn:aws:kms:${A}:${ACCOUNT}:key/mrk-`));
    const policy = JSON.parse(input?.Policy ?? '') as KeyPolicyDocument;
    const replicate = policy.Statement.find((s) => s.Action.includes('kms:ReplicateKey'));
    expect(replicate?.Condition?.StringEquals['kms:ReplicaRegion']).toEqual([C, B].sort());
    expect(principalsOf(policy, 'RotationRoleReplicate')).toEqual(
      REGIONS.map((r) => role('rotate', r)).sort(),
    );
    expect(principalsOf(policy, 'SignersSign')).toEqual([role('token', A)]);
  });

  it('replicates into every region from the primary, each replica with its own region policy and the tags', async () => {
    const arn = await createReplicated('ref-7');
    const keyId = keyIdOf(arn);
    const replications = inputs(A, ReplicateKeyCommand);
    expect(replications.map((r) => r.ReplicaRegion)).toEqual([B, C]);
    for (const r of replications) {
      expect(r.KeyId).toBe(arn);
      expect(r.BypassPolicyLockoutSafetyCheck).toBe(true);
      expect(r.Tags).toEqual(TAGS('ref-7'));
      expect(r.Description).toContain('(RS256)');
    }
    expect(inputs(B, ReplicateKeyCommand)).toEqual([]);
    for (const region of [B, C]) {
      const policy = policyIn(region, keyId);
      // Only that region's token role signs its replica; a replica is never replicated further.
      expect(principalsOf(policy, 'SignersSign')).toEqual([role('token', region)]);
      expect(principalsOf(policy, 'Readers')).toEqual([role('publish', region)]);
      expect(principalsOf(policy, 'RotationRole')).toHaveLength(3);
      expect(policy.Statement.some((s) => s.Action.includes('kms:ReplicateKey'))).toBe(false);
      expect(policy.Statement.find((s) => s.Sid === 'SignersSign')?.Condition?.StringEquals).toMatchObject({
        'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256',
      });
      expect(world.key(region, keyId)?.state).toBe('Enabled');
    }
  });

  it('waits until each new replica is Enabled before it returns', async () => {
    world.replicaCreatingPolls = 2;
    const arn = await createReplicated();
    const keyId = keyIdOf(arn);
    expect(world.key(B, keyId)?.state).toBe('Enabled');
    expect(world.key(C, keyId)?.state).toBe('Enabled');
    // Each replica answered Creating twice: one interval's sleep after each.
    expect(sleeps).toEqual([1_000, 1_000, 1_000, 1_000]);
    const describedInB = inputs(B, DescribeKeyCommand).map((d) => d.KeyId);
    expect(new Set(describedInB)).toEqual(new Set([arnOf(B, keyId)]));
  });

  it('throws REPLICA_NOT_READY naming the region when a replica stays Creating past the wait', async () => {
    world.replicaCreatingPolls = Number.POSITIVE_INFINITY;
    const vault = vaultIn(A);
    const { vaultKeyId } = await vault.createKey({ keyRef: 'r', alg: 'RS256' });
    const err = (await vault.ensureReplicas(vaultKeyId).catch((e: unknown) => e)) as Record<string, unknown>;
    expect(err).toMatchObject({ code: 'REPLICA_NOT_READY', region: B, keyState: 'Creating' });
    // Bounded: 5 s of 1 s polls for all the replicas together, then it gives up.
    expect(sleeps).toHaveLength(5);
  });

  it('makes no ReplicateKey on a second call: existing Enabled replicas are left alone', async () => {
    const arn = await createReplicated();
    const before = world.calls.length;
    await vaultIn(A).ensureReplicas(arn);
    const second = world.calls.slice(before);
    expect(second.filter((c) => c.includes('ReplicateKey'))).toEqual([]);
    expect(second).toEqual([
      `${B} DescribeKey ${arnOf(B, keyIdOf(arn))}`,
      `${C} DescribeKey ${arnOf(C, keyIdOf(arn))}`,
    ]);
  });

  it('replicates only into the region that lacks a replica', async () => {
    const arn = await createReplicated();
    world.keys.delete(arnOf(C, keyIdOf(arn)));
    const before = inputs(A, ReplicateKeyCommand).length;
    await vaultIn(A).ensureReplicas(arn);
    expect(
      inputs(A, ReplicateKeyCommand)
        .slice(before)
        .map((r) => r.ReplicaRegion),
    ).toEqual([C]);
  });

  it("replicates from the primary's region when a promoted region (B) finishes the replicas", async () => {
    const arn = await createReplicated();
    world.keys.delete(arnOf(C, keyIdOf(arn)));
    const before = inputs(A, ReplicateKeyCommand).length;
    await vaultIn(B).ensureReplicas(arn);
    const [sent] = inputs(A, ReplicateKeyCommand).slice(before);
    expect(sent).toMatchObject({ KeyId: arn, ReplicaRegion: C });
    expect(inputs(B, ReplicateKeyCommand)).toEqual([]);
    const policy = policyIn(C, keyIdOf(arn));
    expect(principalsOf(policy, 'SignersSign')).toEqual([role('token', C)]);
  });

  it.each(['Disabled', 'PendingDeletion'])(
    'refuses with REPLICA_NOT_READY a replica that is %s, never using or replacing it',
    async (state) => {
      const arn = await createReplicated();
      const replica = world.key(B, keyIdOf(arn));
      if (replica) replica.state = state;
      const before = inputs(A, ReplicateKeyCommand).length;
      const err = await vaultIn(A)
        .ensureReplicas(arn)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'REPLICA_NOT_READY', region: B, keyState: state });
      expect(inputs(A, ReplicateKeyCommand)).toHaveLength(before);
    },
  );

  it('refuses a single-Region key with INVALID_ARGUMENT before asking KMS anything', async () => {
    const key = world.put(A, { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', tags: TAGS('r') });
    expect(await codeOf(vaultIn(A).ensureReplicas(arnOf(A, key.keyId)))).toBe('INVALID_ARGUMENT');
    expect(world.calls).toEqual([]);
  });

  it('answers KEY_NOT_FOUND when this region has no copy to replicate from', async () => {
    const missing = arnOf(A, 'mrk-0000aaaa0000bbbb0000cccc0000eeee');
    expect(await codeOf(vaultIn(A).ensureReplicas(missing))).toBe('KEY_NOT_FOUND');
    expect(inputs(A, ReplicateKeyCommand)).toEqual([]);
  });

  it("refuses to replicate another deployment's key (its replicas would carry our tags)", async () => {
    const key = world.put(A, {
      keyId: 'mrk-0000aaaa0000bbbb0000cccc0000dddd',
      tags: [
        { TagKey: KEY_TAGS.DEPLOYMENT, TagValue: 'staging' },
        { TagKey: KEY_TAGS.KEY_REF, TagValue: 'r' },
      ],
      description: 'JWT signing key (RS256) of jwks-publisher deployment staging, keyRef r',
    });
    expect(await codeOf(vaultIn(A).ensureReplicas(arnOf(A, key.keyId)))).toBe('INVALID_ARGUMENT');
    expect(inputs(A, ReplicateKeyCommand)).toEqual([]);
  });

  it('disables every region, replicas first and the primary last', async () => {
    const arn = await createReplicated();
    const keyId = keyIdOf(arn);
    world.calls.length = 0;
    await vaultIn(A).disableKey(arn);
    expect(world.calls).toEqual([
      `${B} DisableKey ${arnOf(B, keyId)}`,
      `${C} DisableKey ${arnOf(C, keyId)}`,
      `${A} DisableKey ${arn}`,
    ]);
    for (const r of REGIONS) expect(world.key(r, keyId)?.state).toBe('Disabled');
    // Idempotent, as in one region.
    await vaultIn(A).disableKey(arn);
  });

  it('schedules deletion of the replicas, then the primary, and succeeds again once all are pending', async () => {
    const arn = await createReplicated();
    const keyId = keyIdOf(arn);
    await vaultIn(A).scheduleDeletion(arn, 7);
    const order = world.calls.filter((c) => c.includes('ScheduleKeyDeletion')).map((c) => c.split(' ')[0]);
    expect(order).toEqual([B, C, A]);
    expect(world.key(A, keyId)?.state).toBe('PendingReplicaDeletion');
    expect(world.key(B, keyId)?.state).toBe('PendingDeletion');
    expect(inputs(B, ScheduleKeyDeletionCommand)[0]?.PendingWindowInDays).toBe(7);
    await vaultIn(A).scheduleDeletion(arn, 7);
    await vaultIn(A).disableKey(arn);
  });

  it('treats a region without a replica as done, but a missing primary as KEY_NOT_FOUND', async () => {
    const arn = await createReplicated();
    world.keys.delete(arnOf(C, keyIdOf(arn)));
    await vaultIn(A).disableKey(arn);
    expect(world.key(B, keyIdOf(arn))?.state).toBe('Disabled');
    world.keys.delete(arn);
    expect(await codeOf(vaultIn(A).disableKey(arn))).toBe('KEY_NOT_FOUND');
  });

  it('still disables the other regions when one fails, then throws that failure', async () => {
    const arn = await createReplicated();
    const boom = new KMSInternalException({ message: 'boom', $metadata: {} });
    world.stubs[B]?.on(DisableKeyCommand).rejects(boom);
    await expect(vaultIn(A).disableKey(arn)).rejects.toBe(boom);
    expect(world.key(C, keyIdOf(arn))?.state).toBe('Disabled');
    expect(world.key(A, keyIdOf(arn))?.state).toBe('Disabled');
  });

  it('replicates only into the serving regions when a lost region (C) was excluded, and asks C nothing', async () => {
    const vault = vaultIn(A);
    const { vaultKeyId: arn } = await vault.createKey({ keyRef: 'ref-x', alg: 'RS256' });
    await vault.ensureReplicas(arn, [A, B]);
    expect(inputs(A, ReplicateKeyCommand).map((r) => r.ReplicaRegion)).toEqual([B]);
    expect(world.key(B, keyIdOf(arn))?.state).toBe('Enabled');
    expect(world.key(C, keyIdOf(arn))).toBeUndefined();
    expect(world.stubs[C]?.calls().length ?? 0).toBe(0);
  });

  it('retires the serving regions’ copies although an excluded region cannot be reached, and still throws for a serving one', async () => {
    const arn = await createReplicated();
    const boom = new KMSInternalException({ message: 'C is down', $metadata: {} });
    world.stubs[C]?.on(DisableKeyCommand).rejects(boom);
    await vaultIn(A).disableKey(arn, [A, B]);
    expect(world.key(A, keyIdOf(arn))?.state).toBe('Disabled');
    expect(world.key(B, keyIdOf(arn))?.state).toBe('Disabled');
    // C is in the serving set: its failure is the call's.
    await expect(vaultIn(A).disableKey(arn, [A, B, C])).rejects.toBe(boom);
    world.stubs[C]?.on(ScheduleKeyDeletionCommand).rejects(boom);
    await vaultIn(A).scheduleDeletion(arn, 7, [A, B]);
    expect(world.key(B, keyIdOf(arn))?.state).toBe('PendingDeletion');
    // As KMS: the primary waits for the replica C still holds before its own deletion window starts.
    expect(world.key(A, keyIdOf(arn))?.state).toBe('PendingReplicaDeletion');
  });

  it("signs in region B with B's replica, given the primary's ARN, and the token verifies with the same kid", async () => {
    const arn = await createReplicated();
    const jwkFromA = await vaultIn(A).getPublicJwk(arn, 'RS256');
    const signerInB = vaultIn(B, { replicas: false });
    const jwkFromB = await signerInB.getPublicJwk(arn, 'RS256');
    expect(jwkFromB.kid).toBe(jwkFromA.kid);
    const input = jwsSigningInput({ alg: 'RS256', kid: jwkFromB.kid, typ: 'JWT' }, { sub: 'svc' });
    const token = compactJws(input, await signerInB.sign(arn, 'RS256', input.bytes));
    const { payload } = await jwtVerify(token, await importJWK(jwkFromA, 'RS256'));
    expect(payload).toEqual({ sub: 'svc' });
    expect(inputs(B, SignCommand).map((s) => s.KeyId)).toEqual([arnOf(B, keyIdOf(arn))]);
    expect(inputs(A, SignCommand)).toEqual([]);
  });

  it("proves a record in region B from B's replica (its own tags and public key)", async () => {
    const arn = await createReplicated('ref-9');
    world.calls.length = 0;
    const facts = await vaultIn(B, { replicas: false }).describeKey(arn);
    expect(facts).toMatchObject({ kind: 'present', ours: true, keyRef: 'ref-9' });
    const inB = arnOf(B, keyIdOf(arn));
    expect(world.calls).toEqual([`${B} ListResourceTags ${inB}`, `${B} GetPublicKey ${inB}`]);
  });

  it("lists a region's replicas under the primary's ARN, the one the registry keeps", async () => {
    const arn = await createReplicated('ref-3');
    taggingMock.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        {
          ResourceARN: arnOf(B, keyIdOf(arn)),
          Tags: [
            { Key: KEY_TAGS.DEPLOYMENT, Value: 'prod' },
            { Key: KEY_TAGS.KEY_REF, Value: 'ref-3' },
          ],
        },
      ],
    });
    expect(await vaultIn(B).listKeys()).toEqual([{ vaultKeyId: arn, keyRef: 'ref-3' }]);
  });

  it('refuses replica regions without its own region, or a region twice, with INVALID_ARGUMENT', () => {
    const replica = { region: B, kms: world.client(B), keyPolicy: policyOf(B) };
    const build = (opts: { region?: string; replicas: (typeof replica)[] }) => () =>
      new KmsKeyVault({ kms: world.client(A), tagging, deploymentName: 'prod', ...opts });
    expect(build({ replicas: [replica] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(build({ region: B, replicas: [replica] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(build({ region: A, replicas: [replica, replica] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  it('a vault with no region sends every id exactly as given and creates single-Region keys', async () => {
    const single = new KmsKeyVault({
      kms: world.client(A),
      tagging,
      deploymentName: 'prod',
      keyPolicy: policyOf(A),
    });
    const { vaultKeyId } = await single.createKey({ keyRef: 'r', alg: 'RS256' });
    const [input] = inputs(A, CreateKeyCommand);
    expect(input && 'MultiRegion' in input).toBe(false);
    expect(input?.Policy).not.toContain('kms:ReplicateKey');
    await single.ensureReplicas(vaultKeyId);
    const foreign = arnOf(B, 'mrk-00001111222233334444555566667777');
    await single.sign(foreign, 'RS256', new Uint8Array(1)).catch(() => undefined);
    expect(inputs(A, SignCommand).map((s) => s.KeyId)).toEqual([foreign]);
    expect(world.calls.filter((c) => !c.startsWith(`${A} `))).toEqual([]);
  });
});
