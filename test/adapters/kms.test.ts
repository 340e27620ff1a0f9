import { constants, createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  GetPublicKeyCommand,
  KMSClient,
  KMSInternalException,
  KMSInvalidStateException,
  ListResourceTagsCommand,
  NotFoundException,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { calculateJwkThumbprint, exportJWK, importJWK, jwtVerify } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsKeyVault } from '../../src/adapters/aws/kms.ts';
import { KEY_TAGS } from '../../src/constants.ts';
import { algorithmSpec } from '../../src/core/algorithms.ts';
import { compactJws, jwsSigningInput } from '../../src/core/jws.ts';
import type { KeyPolicyDocument } from '../../src/core/key-policy.ts';
import { ALGORITHMS, type Algorithm } from '../../src/core/types.ts';

const ACCOUNT = '111122223333';
const role = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const KEY_POLICY = {
  accountId: ACCOUNT,
  adminRoleArn: role('rotate'),
  signerRoleArns: [role('token')],
  readerRoleArns: [role('publish')],
};
const meta = { $metadata: {} };
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );

const kmsMock = mockClient(KMSClient);
const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);

/**
 * A KMS stand-in that really signs with node:crypto. Sign gets only a digest, which node cannot
 * sign for PSS/ECDSA, so the test records every signing input it hands the vault (`preimages`,
 * keyed by digest) and the fake signs the recorded preimage — after checking its digest is what
 * the adapter sent. ECDSA comes back DER, PSS with a digest-length salt, as KMS does.
 */
class FakeKms {
  readonly keys = new Map<string, { keySpec: string; privateKey: KeyObject; publicKey: KeyObject }>();
  readonly preimages = new Map<string, Uint8Array>();

  record(input: Uint8Array): void {
    for (const h of ['sha256', 'sha384'])
      this.preimages.set(createHash(h).update(input).digest('hex'), input);
  }

  create(keySpec: string) {
    const pair =
      keySpec === 'RSA_2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: keySpec === 'ECC_NIST_P256' ? 'prime256v1' : 'secp384r1' });
    const arn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${randomUUID()}`;
    this.keys.set(arn, { keySpec, ...pair });
    return { KeyMetadata: { Arn: arn, KeyId: arn.split('/')[1], KeySpec: keySpec, KeyUsage: 'SIGN_VERIFY' } };
  }

  signingAlgorithms(keySpec: string): SigningAlgorithmSpec[] {
    if (keySpec === 'RSA_2048') return ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_256'];
    return [keySpec === 'ECC_NIST_P256' ? 'ECDSA_SHA_256' : 'ECDSA_SHA_384'];
  }

  sign(keyId: string, message: Uint8Array, messageType: string, algorithm: SigningAlgorithmSpec) {
    const key = this.keys.get(keyId);
    if (!key) throw new NotFoundException({ message: 'no such key', ...meta });
    if (!this.signingAlgorithms(key.keySpec).includes(algorithm))
      throw new Error(`bad algorithm ${algorithm}`);
    if (messageType !== 'DIGEST') throw new Error('expected MessageType DIGEST');
    const digest = algorithm.endsWith('384') ? 'sha384' : 'sha256';
    const preimage = this.preimages.get(Buffer.from(message).toString('hex'));
    if (!preimage || !createHash(digest).update(preimage).digest().equals(Buffer.from(message))) {
      throw new Error('digest of no recorded signing input');
    }
    const options =
      algorithm === 'RSASSA_PSS_SHA_256'
        ? { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
        : { key: key.privateKey, dsaEncoding: 'der' as const };
    return {
      KeyId: keyId,
      Signature: new Uint8Array(sign(digest, preimage, options)),
      SigningAlgorithm: algorithm,
    };
  }
}

describe('KmsKeyVault', () => {
  let fake: FakeKms;
  let vault: KmsKeyVault;

  beforeEach(() => {
    kmsMock.reset();
    taggingMock.reset();
    fake = new FakeKms();
    kmsMock.on(CreateKeyCommand).callsFake(async (input) => fake.create(input.KeySpec));
    kmsMock.on(GetPublicKeyCommand).callsFake(async (input) => {
      const key = fake.keys.get(input.KeyId);
      if (!key) throw new NotFoundException({ message: 'no such key', ...meta });
      return {
        KeyId: input.KeyId,
        KeySpec: key.keySpec,
        KeyUsage: 'SIGN_VERIFY',
        PublicKey: new Uint8Array(key.publicKey.export({ format: 'der', type: 'spki' })),
        SigningAlgorithms: fake.signingAlgorithms(key.keySpec),
      };
    });
    kmsMock
      .on(SignCommand)
      .callsFake(async (input) =>
        fake.sign(input.KeyId, input.Message, input.MessageType, input.SigningAlgorithm),
      );
    vault = new KmsKeyVault({
      kms: new KMSClient({ region: 'eu-west-1' }),
      tagging: new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1' }),
      deploymentName: 'prod',
      keyPolicy: KEY_POLICY,
    });
  });

  const signJwt = async (
    vaultKeyId: string,
    alg: Algorithm,
    kid: string,
    claims: Record<string, unknown>,
  ) => {
    const input = jwsSigningInput({ alg, kid, typ: 'JWT' }, claims);
    fake.record(input.bytes);
    return compactJws(input, await vault.sign(vaultKeyId, alg, input.bytes));
  };

  it.each(ALGORITHMS)(
    'creates a %s key whose KMS-signed JWTs jose verifies with the published JWK',
    async (alg) => {
      const { vaultKeyId } = await vault.createKey({ keyRef: 'ref-1', alg });
      const jwk = await vault.getPublicJwk(vaultKeyId, alg);
      const publicKey = fake.keys.get(vaultKeyId)?.publicKey as KeyObject;
      expect(jwk.kid).toBe(await calculateJwkThumbprint(await exportJWK(publicKey)));
      for (let i = 0; i < 8; i++) {
        const token = await signJwt(vaultKeyId, alg, jwk.kid, { sub: 'svc', i });
        const { payload } = await jwtVerify(token, await importJWK(jwk, alg), { algorithms: [alg] });
        expect(payload).toEqual({ sub: 'svc', i });
      }
    },
  );

  it.each([
    ['RS256', 'RSA_2048'],
    ['PS256', 'RSA_2048'],
    ['ES256', 'ECC_NIST_P256'],
    ['ES384', 'ECC_NIST_P384'],
  ] as const)(
    'sends CreateKey for %s with key spec %s, SIGN_VERIFY, both tags and the key policy',
    async (alg, spec) => {
      const { vaultKeyId } = await vault.createKey({ keyRef: 'ref-42', alg });
      const input = kmsMock.commandCalls(CreateKeyCommand)[0]?.args[0].input;
      expect(vaultKeyId).toMatch(/^arn:aws:kms:/);
      expect(input?.KeySpec).toBe(spec);
      expect(input?.KeyUsage).toBe('SIGN_VERIFY');
      // The rotator is not allowed PutKeyPolicy by the key's policy (it could grant itself Sign).
      expect(input?.BypassPolicyLockoutSafetyCheck).toBe(true);
      expect(input?.Tags).toEqual(
        expect.arrayContaining([
          { TagKey: KEY_TAGS.DEPLOYMENT, TagValue: 'prod' },
          { TagKey: KEY_TAGS.KEY_REF, TagValue: 'ref-42' },
        ]),
      );
      const policy = JSON.parse(input?.Policy ?? '{}') as KeyPolicyDocument;
      const signers = policy.Statement.filter((s) => s.Action.includes('kms:Sign')).map(
        (s) => s.Principal.AWS,
      );
      expect(signers).toEqual([role('token')]);
      const putters = policy.Statement.filter((s) => s.Action.includes('kms:PutKeyPolicy')).map(
        (s) => s.Principal.AWS,
      );
      expect(putters).not.toContain(role('rotate'));
      const sign = policy.Statement.find((s) => s.Action.includes('kms:Sign'));
      expect(sign?.Condition?.StringEquals['kms:SigningAlgorithm']).toBe(
        algorithmSpec(alg).kmsSigningAlgorithm,
      );
    },
  );

  it('signs a digest (MessageType DIGEST) so a signing input over 4 KB works', async () => {
    const { vaultKeyId } = await vault.createKey({ keyRef: 'r', alg: 'ES384' });
    const jwk = await vault.getPublicJwk(vaultKeyId, 'ES384');
    const token = await signJwt(vaultKeyId, 'ES384', jwk.kid, { blob: 'x'.repeat(10_000) });
    await jwtVerify(token, await importJWK(jwk, 'ES384'));
    const input = kmsMock.commandCalls(SignCommand)[0]?.args[0].input;
    expect(input?.MessageType).toBe('DIGEST');
    expect(input?.Message).toHaveLength(48);
    expect(input?.SigningAlgorithm).toBe('ECDSA_SHA_384');
  });

  it.each([
    ['DisabledException', new DisabledException({ message: 'disabled', ...meta })],
    ['KMSInvalidStateException', new KMSInvalidStateException({ message: 'pending deletion', ...meta })],
    ['NotFoundException', new NotFoundException({ message: 'gone', ...meta })],
  ])('maps %s on Sign to KEY_UNUSABLE with the cause kept', async (_name, error) => {
    kmsMock.on(SignCommand).rejects(error);
    const err = await vault.sign('arn:k', 'RS256', new Uint8Array(1)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'KEY_UNUSABLE', cause: error });
  });

  it('passes other Sign errors through unchanged', async () => {
    const error = new KMSInternalException({ message: 'boom', ...meta });
    kmsMock.on(SignCommand).rejects(error);
    await expect(vault.sign('arn:k', 'ES256', new Uint8Array(1))).rejects.toBe(error);
  });

  it('maps GetPublicKey errors: disabled → KEY_UNUSABLE, missing → KEY_NOT_FOUND, wrong key spec → INVALID_ARGUMENT', async () => {
    const { vaultKeyId } = await vault.createKey({ keyRef: 'r', alg: 'ES384' });
    expect(await codeOf(vault.getPublicJwk(vaultKeyId, 'ES256'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(vault.getPublicJwk('arn:missing', 'ES256'))).toBe('KEY_NOT_FOUND');
    kmsMock.on(GetPublicKeyCommand).rejects(new DisabledException({ message: 'disabled', ...meta }));
    expect(await codeOf(vault.getPublicJwk(vaultKeyId, 'ES384'))).toBe('KEY_UNUSABLE');
  });

  it('lists every page of GetResources filtered by kms:key and the deployment tag', async () => {
    const tags = (ref?: string) => [
      { Key: KEY_TAGS.DEPLOYMENT, Value: 'prod' },
      ...(ref ? [{ Key: KEY_TAGS.KEY_REF, Value: ref }] : []),
    ];
    taggingMock
      .on(GetResourcesCommand)
      .resolvesOnce({
        PaginationToken: 'page-2',
        ResourceTagMappingList: [
          { ResourceARN: 'arn:a', Tags: tags('ra') },
          { ResourceARN: 'arn:b', Tags: tags('rb') },
        ],
      })
      .resolvesOnce({
        PaginationToken: '',
        ResourceTagMappingList: [{ ResourceARN: 'arn:c', Tags: tags() }],
      });
    expect(await vault.listKeys()).toEqual([
      { vaultKeyId: 'arn:a', keyRef: 'ra' },
      { vaultKeyId: 'arn:b', keyRef: 'rb' },
      { vaultKeyId: 'arn:c' },
    ]);
    const calls = taggingMock.commandCalls(GetResourcesCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.ResourceTypeFilters).toEqual(['kms:key']);
    expect(calls[0]?.TagFilters).toEqual([{ Key: KEY_TAGS.DEPLOYMENT, Values: ['prod'] }]);
    expect(calls[1]?.PaginationToken).toBe('page-2');
  });

  it('treats DisableKey and ScheduleKeyDeletion on a key pending deletion as success', async () => {
    const invalid = new KMSInvalidStateException({ message: 'pending deletion', ...meta });
    kmsMock.on(DisableKeyCommand).rejects(invalid);
    kmsMock.on(ScheduleKeyDeletionCommand).rejects(invalid);
    kmsMock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k', KeyState: 'PendingDeletion' } });
    await vault.disableKey('arn:k');
    await vault.scheduleDeletion('arn:k', 30);
    expect(kmsMock.commandCalls(ScheduleKeyDeletionCommand)[0]?.args[0].input).toEqual({
      KeyId: 'arn:k',
      PendingWindowInDays: 30,
    });
  });

  it('rethrows KMSInvalidStateException when the key is in another state', async () => {
    const invalid = new KMSInvalidStateException({ message: 'unavailable', ...meta });
    kmsMock.on(ScheduleKeyDeletionCommand).rejects(invalid);
    kmsMock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: 'k', KeyState: 'Unavailable' } });
    await expect(vault.scheduleDeletion('arn:k', 7)).rejects.toBe(invalid);
  });

  it('maps NotFoundException on DisableKey to KEY_NOT_FOUND and disables idempotently', async () => {
    kmsMock.on(DisableKeyCommand).resolves({});
    await vault.disableKey('arn:k');
    await vault.disableKey('arn:k');
    kmsMock.on(DisableKeyCommand).rejects(new NotFoundException({ message: 'gone', ...meta }));
    expect(await codeOf(vault.disableKey('arn:k'))).toBe('KEY_NOT_FOUND');
  });

  it('rejects a deletion window outside 7–30 days without calling KMS', async () => {
    expect(await codeOf(vault.scheduleDeletion('arn:k', 5))).toBe('INVALID_ARGUMENT');
    expect(kmsMock.commandCalls(ScheduleKeyDeletionCommand)).toHaveLength(0);
  });

  describe('describeKey (the vault proof of design §11)', () => {
    const tagged = (deployment: string, keyRef = 'ref-1') => ({
      Tags: [
        { TagKey: KEY_TAGS.DEPLOYMENT, TagValue: deployment },
        { TagKey: KEY_TAGS.KEY_REF, TagValue: keyRef },
      ],
      Truncated: false,
    });
    const kmsError = (name: string) => Object.assign(new Error(name), { name, $metadata: {} });

    it("gives this deployment's key with its keyRef and its public key as SPKI", async () => {
      const arn = fake.create('ECC_NIST_P256').KeyMetadata.Arn;
      kmsMock.on(ListResourceTagsCommand, { KeyId: arn }).resolves(tagged('prod', 'ref-7'));
      const facts = await vault.describeKey(arn);
      const spki = new Uint8Array(
        fake.keys.get(arn)?.publicKey.export({ format: 'der', type: 'spki' }) ?? [],
      );
      expect(facts).toEqual({ kind: 'present', ours: true, keyRef: 'ref-7', publicKey: spki });
    });

    it("reports another deployment's key as not ours without asking for its public key", async () => {
      const arn = fake.create('ECC_NIST_P256').KeyMetadata.Arn;
      kmsMock.on(ListResourceTagsCommand).resolves(tagged('staging'));
      expect(await vault.describeKey(arn)).toEqual({ kind: 'present', ours: false, keyRef: 'ref-1' });
      expect(kmsMock.commandCalls(GetPublicKeyCommand)).toHaveLength(0);
    });

    it('gives no public key for a disabled key, or when GetPublicKey is denied', async () => {
      kmsMock.on(ListResourceTagsCommand).resolves(tagged('prod'));
      kmsMock.on(GetPublicKeyCommand).rejects(new DisabledException({ message: 'disabled', ...meta }));
      expect(await vault.describeKey('arn:k')).toEqual({ kind: 'present', ours: true, keyRef: 'ref-1' });
      kmsMock.on(GetPublicKeyCommand).rejects(kmsError('AccessDeniedException'));
      expect(await vault.describeKey('arn:k')).toEqual({ kind: 'present', ours: true, keyRef: 'ref-1' });
    });

    it.each([
      ['NotFoundException', 'absent'],
      ['InvalidArnException', 'absent'],
      ['AccessDeniedException', 'denied'],
    ])('answers %s from ListResourceTags as %s', async (name, kind) => {
      kmsMock.on(ListResourceTagsCommand).rejects(kmsError(name));
      expect(await vault.describeKey('arn:aws:kms:eu-west-1:999999999999:key/x')).toEqual({ kind });
    });

    it('throws when KMS cannot be asked (internal failure, throttling): no answer is made up', async () => {
      kmsMock.on(ListResourceTagsCommand).rejects(new KMSInternalException({ message: 'boom', ...meta }));
      await expect(vault.describeKey('arn:k')).rejects.toBeInstanceOf(KMSInternalException);
      kmsMock.on(ListResourceTagsCommand).resolves(tagged('prod'));
      kmsMock.on(GetPublicKeyCommand).rejects(kmsError('ThrottlingException'));
      await expect(vault.describeKey('arn:k')).rejects.toThrow('ThrottlingException');
    });

    it('refuses createKey with INVALID_ARGUMENT when built without key-policy principals (the publisher)', async () => {
      const reader = new KmsKeyVault({
        kms: new KMSClient({ region: 'eu-west-1' }),
        tagging: new ResourceGroupsTaggingAPIClient({ region: 'eu-west-1' }),
        deploymentName: 'prod',
      });
      expect(await codeOf(reader.createKey({ keyRef: 'r', alg: 'ES256' }))).toBe('INVALID_ARGUMENT');
      expect(kmsMock.commandCalls(CreateKeyCommand)).toHaveLength(0);
    });
  });
});
