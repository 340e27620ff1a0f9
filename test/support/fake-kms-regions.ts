/**
 * A stand-in for KMS in several regions, for the multi-Region key tests: one `aws-sdk-client-mock`
 * stub per regional KMSClient instance (mockClient(KMSClient) would mock every instance alike), all
 * backed by one world of keys keyed by ARN. Multi-Region keys share key material across regions; tags,
 * policy, description and key state are per region, as in KMS. Sign takes a SHA-256 digest and signs it
 * RSASSA-PKCS1-v1_5 (RS256) with the real private key, so signatures verify.
 */
import { constants, generateKeyPairSync, type KeyObject, privateEncrypt, randomBytes } from 'node:crypto';
import {
  AlreadyExistsException,
  CreateKeyCommand,
  type CreateKeyCommandInput,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  GetPublicKeyCommand,
  type KeyMetadata,
  KMSClient,
  KMSInvalidStateException,
  ListResourceTagsCommand,
  NotFoundException,
  ReplicateKeyCommand,
  type ReplicateKeyCommandInput,
  ScheduleKeyDeletionCommand,
  SignCommand,
  type Tag,
} from '@aws-sdk/client-kms';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

export const ACCOUNT = '111122223333';
const meta = { $metadata: {} };
/** RFC 8017 §9.2: DigestInfo prefix of a SHA-256 digest. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

export interface FakeKey {
  readonly region: string;
  readonly keyId: string;
  readonly keySpec: string;
  state: string;
  readonly tags: Tag[];
  readonly policy: string;
  readonly description: string;
  readonly multiRegion: boolean;
  /** Where the multi-Region primary of this key is. */
  readonly primaryRegion: string;
  /** DescribeKey answers left in Creating before the key turns Enabled. */
  creatingPolls: number;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export const arnOf = (region: string, keyId: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/${keyId}`;

export class FakeKmsRegions {
  readonly keys = new Map<string, FakeKey>();
  readonly clients: Record<string, KMSClient> = {};
  readonly stubs: Record<string, AwsClientStub<KMSClient>> = {};
  /** Every request, in order: `<region> <Command> <KeyId>`. */
  readonly calls: string[] = [];
  /** How many DescribeKey answers a new replica stays Creating for. */
  replicaCreatingPolls = 1;

  constructor(regions: readonly string[]) {
    for (const region of regions) {
      const client = new KMSClient({ region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      this.clients[region] = client;
      this.stubs[region] = mockClient(client);
    }
  }

  client(region: string): KMSClient {
    return this.clients[region] as KMSClient;
  }

  /** Forget every key and call, and (re)install the handlers: call in beforeEach. */
  reset(): void {
    this.keys.clear();
    this.calls.length = 0;
    this.replicaCreatingPolls = 1;
    for (const [region, stub] of Object.entries(this.stubs)) {
      stub.reset();
      const log = (command: string, keyId?: string) =>
        this.calls.push(`${region} ${command} ${keyId ?? ''}`.trim());
      stub.on(CreateKeyCommand).callsFake(async (input: CreateKeyCommandInput) => {
        log('CreateKey');
        return { KeyMetadata: this.describe(this.create(region, input)) };
      });
      stub.on(DescribeKeyCommand).callsFake(async (input: { KeyId: string }) => {
        log('DescribeKey', input.KeyId);
        const key = this.find(region, input.KeyId);
        if (key.state === 'Creating' && key.creatingPolls-- <= 0) key.state = 'Enabled';
        return { KeyMetadata: this.describe(key) };
      });
      stub.on(ReplicateKeyCommand).callsFake(async (input: ReplicateKeyCommandInput) => {
        log('ReplicateKey', input.KeyId);
        return { ReplicaKeyMetadata: this.describe(this.replicate(region, input)) };
      });
      stub.on(ListResourceTagsCommand).callsFake(async (input: { KeyId: string }) => {
        log('ListResourceTags', input.KeyId);
        return { Tags: this.find(region, input.KeyId).tags, Truncated: false };
      });
      stub.on(GetPublicKeyCommand).callsFake(async (input: { KeyId: string }) => {
        log('GetPublicKey', input.KeyId);
        const key = this.usable(region, input.KeyId);
        return {
          KeyId: arnOf(key.region, key.keyId),
          KeySpec: key.keySpec,
          KeyUsage: 'SIGN_VERIFY',
          PublicKey: new Uint8Array(key.publicKey.export({ format: 'der', type: 'spki' })),
          SigningAlgorithms: ['RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PSS_SHA_256'],
        };
      });
      stub.on(SignCommand).callsFake(async (input: { KeyId: string; Message: Uint8Array }) => {
        log('Sign', input.KeyId);
        const key = this.usable(region, input.KeyId);
        const block = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(input.Message)]);
        const signature = privateEncrypt(
          { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING },
          block,
        );
        return { KeyId: arnOf(key.region, key.keyId), Signature: new Uint8Array(signature) };
      });
      stub.on(DisableKeyCommand).callsFake(async (input: { KeyId: string }) => {
        log('DisableKey', input.KeyId);
        const key = this.find(region, input.KeyId);
        if (key.state.startsWith('Pending'))
          throw new KMSInvalidStateException({ message: key.state, ...meta });
        key.state = 'Disabled';
        return {};
      });
      stub.on(ScheduleKeyDeletionCommand).callsFake(async (input: { KeyId: string }) => {
        log('ScheduleKeyDeletion', input.KeyId);
        const key = this.find(region, input.KeyId);
        if (key.state.startsWith('Pending'))
          throw new KMSInvalidStateException({ message: key.state, ...meta });
        // KMS keeps a primary whose replicas exist until they are deleted (not just scheduled).
        const primaryWithReplicas = key.region === key.primaryRegion && this.replicasOf(key).length > 0;
        key.state = primaryWithReplicas ? 'PendingReplicaDeletion' : 'PendingDeletion';
        return { KeyId: arnOf(key.region, key.keyId), KeyState: key.state };
      });
    }
  }

  /** A key made directly in the world (as another deployment or an earlier run would have). */
  put(region: string, over: Partial<FakeKey> & { keyId: string }): FakeKey {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const key: FakeKey = {
      region,
      keySpec: 'RSA_2048',
      state: 'Enabled',
      tags: [],
      policy: '{}',
      description: '',
      multiRegion: over.keyId.startsWith('mrk-'),
      primaryRegion: region,
      creatingPolls: 0,
      privateKey,
      publicKey,
      ...over,
    };
    this.keys.set(arnOf(region, key.keyId), key);
    return key;
  }

  key(region: string, keyId: string): FakeKey | undefined {
    return this.keys.get(arnOf(region, keyId));
  }

  private create(region: string, input: CreateKeyCommandInput): FakeKey {
    const id = randomBytes(16).toString('hex');
    return this.put(region, {
      keyId: input.MultiRegion ? `mrk-${id}` : id,
      keySpec: input.KeySpec as string,
      tags: input.Tags ?? [],
      policy: input.Policy ?? '',
      description: input.Description ?? '',
      multiRegion: input.MultiRegion === true,
    });
  }

  private replicate(region: string, input: ReplicateKeyCommandInput): FakeKey {
    const primary = this.find(region, input.KeyId as string);
    const target = input.ReplicaRegion as string;
    if (!primary.multiRegion) throw new Error('not a multi-Region key');
    if (this.key(target, primary.keyId)) throw new AlreadyExistsException({ message: 'exists', ...meta });
    const replica: FakeKey = {
      ...primary,
      region: target,
      state: 'Creating',
      creatingPolls: this.replicaCreatingPolls,
      tags: input.Tags ?? [],
      policy: input.Policy ?? '',
      description: input.Description ?? '',
    };
    this.keys.set(arnOf(target, primary.keyId), replica);
    return replica;
  }

  private replicasOf(key: FakeKey): FakeKey[] {
    return [...this.keys.values()].filter((k) => k.keyId === key.keyId && k !== key);
  }

  /** The key a request names, resolved the way KMS does: only in the region it is sent to. */
  private find(region: string, keyId: string): FakeKey {
    const key = this.keys.get(keyId.startsWith('arn:') ? keyId : arnOf(region, keyId));
    if (!key || key.region !== region) throw new NotFoundException({ message: `no key ${keyId}`, ...meta });
    return key;
  }

  private usable(region: string, keyId: string): FakeKey {
    const key = this.find(region, keyId);
    if (key.state === 'Disabled') throw new DisabledException({ message: 'disabled', ...meta });
    if (key.state !== 'Enabled') throw new KMSInvalidStateException({ message: key.state, ...meta });
    return key;
  }

  private describe(key: FakeKey): KeyMetadata {
    const all = [key, ...this.replicasOf(key)];
    const primaryRegion = key.primaryRegion;
    return {
      KeyId: key.keyId,
      Arn: arnOf(key.region, key.keyId),
      KeyState: key.state as KeyMetadata['KeyState'],
      KeySpec: key.keySpec as KeyMetadata['KeySpec'],
      KeyUsage: 'SIGN_VERIFY',
      Description: key.description,
      MultiRegion: key.multiRegion,
      ...(key.multiRegion
        ? {
            MultiRegionConfiguration: {
              MultiRegionKeyType: key.region === primaryRegion ? 'PRIMARY' : 'REPLICA',
              PrimaryKey: { Arn: arnOf(primaryRegion, key.keyId), Region: primaryRegion },
              ReplicaKeys: all
                .filter((k) => k.region !== primaryRegion)
                .map((k) => ({ Arn: arnOf(k.region, k.keyId), Region: k.region })),
            },
          }
        : {}),
    };
  }
}
