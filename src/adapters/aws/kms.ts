/**
 * KeyVault on AWS KMS. Keys are asymmetric SIGN_VERIFY keys created with an explicit key policy
 * (core/key-policy.ts) and tagged with the deployment and the registry's `keyRef` (design §3
 * invariant 7); listing goes through the Resource Groups Tagging API, which filters by tag
 * server-side (KMS `ListKeys` would need one `ListResourceTags` call per key in the account).
 *
 * Signing hashes the JWS signing input here and sends `MessageType: DIGEST`: KMS accepts at most
 * 4096 bytes of RAW message, a digest is 32/48 bytes whatever the token size, and the private key
 * never leaves KMS either way. KMS returns ECDSA signatures as DER; JWS needs R‖S (core/der-jose.ts).
 *
 * Multi-region (ADR 0008): given its `region`, the vault uses its own region's copy of any
 * multi-Region (`mrk-`) key (kms-regions.ts); given replica regions too (the rotate function), it
 * creates keys with `MultiRegion: true`, replicates them (kms-replicas.ts) and retires every region's
 * copy. Without either, every request is exactly the single-region one.
 *
 * Nothing here logs; errors carry KMS's own error as `cause` and never key material.
 *
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 */
import { createHash } from 'node:crypto';
import {
  CreateKeyCommand,
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  type KMSClient,
  ListResourceTagsCommand,
  SignCommand,
  type SignCommandOutput,
} from '@aws-sdk/client-kms';
import {
  paginateGetResources,
  type ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { KEY_TAGS } from '../../constants.ts';
import { algorithmSpec } from '../../core/algorithms.ts';
import { derToJose } from '../../core/der-jose.ts';
import { publicJwkFromKey } from '../../core/jwk.ts';
import { buildKeyPolicy, type KeyPolicyPrincipals } from '../../core/key-policy.ts';
import type { Algorithm, PublicJwk, VaultKey } from '../../core/types.ts';
import type { VaultKeyFacts } from '../../core/vault-proof.ts';
import { InvalidArgumentError, JwksError, KeyUnusableError } from '../../errors.ts';
import type { KeyVault } from '../../ports.ts';
import { ABSENT, errorName, mapKeyError, UNUSABLE } from './kms-errors.ts';
import { disableCopy, KmsRegions, type KmsReplicaRegion, scheduleCopyDeletion } from './kms-regions.ts';
import { KmsReplication, keyDescription, keyTags, type ReplicaWait } from './kms-replicas.ts';

export interface KmsKeyVaultOptions {
  readonly kms: KMSClient;
  readonly tagging: ResourceGroupsTaggingAPIClient;
  readonly deploymentName: string;
  /** Needed by `createKey` only: a process that never creates keys (the publisher) leaves it out. */
  readonly keyPolicy?: KeyPolicyPrincipals;
  /** Multi-region: the region of `kms`. A multi-Region key's ARN of another region is used as this region's. */
  readonly region?: string;
  /** Multi-region, the rotate function: every other region, to replicate keys into (needs `region`). */
  readonly replicas?: readonly KmsReplicaRegion[];
  readonly replicaWait?: ReplicaWait;
}

/** A refusal that is KMS's answer about this key, not a failure to ask; undefined otherwise. */
function refusalFacts(err: unknown): VaultKeyFacts | undefined {
  const name = errorName(err);
  if (name && ABSENT.has(name)) return { kind: 'absent' };
  if (name === 'AccessDeniedException') return { kind: 'denied' };
  return undefined;
}

export class KmsKeyVault implements KeyVault {
  readonly #kms: KMSClient;
  readonly #tagging: ResourceGroupsTaggingAPIClient;
  readonly #deploymentName: string;
  readonly #principals: KeyPolicyPrincipals | undefined;
  /** Undefined in a single-region deployment: then every id is used exactly as given. */
  readonly #regions: KmsRegions | undefined;
  readonly #replication: KmsReplication | undefined;

  constructor(opts: KmsKeyVaultOptions) {
    if (!opts.deploymentName) throw new InvalidArgumentError('deploymentName is required');
    if (opts.replicas?.length && !opts.region)
      throw new InvalidArgumentError('replicas need the vault region');
    this.#kms = opts.kms;
    this.#tagging = opts.tagging;
    this.#deploymentName = opts.deploymentName;
    this.#principals = opts.keyPolicy;
    const regions = opts.region
      ? new KmsRegions({ region: opts.region, kms: opts.kms, replicas: opts.replicas ?? [] })
      : undefined;
    this.#regions = regions;
    this.#replication = regions
      ? new KmsReplication({
          regions,
          deploymentName: opts.deploymentName,
          ...(opts.replicaWait ? { wait: opts.replicaWait } : {}),
        })
      : undefined;
  }

  /** This region's copy of the key (ADR 0008): a multi-Region key has the same id in every region. */
  #here(vaultKeyId: string): string {
    return this.#regions ? this.#regions.here(vaultKeyId) : vaultKeyId;
  }

  async createKey(input: { keyRef: string; alg: Algorithm }): Promise<{ vaultKeyId: string }> {
    const spec = algorithmSpec(input.alg);
    // A signer- or publisher-only process (the token and publish functions) never needs the principals.
    if (!this.#principals) throw new InvalidArgumentError('creating a key needs the key policy principals');
    const replicaRegions = this.#regions?.replicas.map((r) => r.region) ?? [];
    const policy = JSON.stringify(buildKeyPolicy(this.#principals, input.alg, { replicaRegions }));
    const out = await this.#kms.send(
      new CreateKeyCommand({
        KeySpec: spec.kmsKeySpec,
        KeyUsage: 'SIGN_VERIFY',
        Policy: policy,
        // The policy deliberately does not let the caller (the rotator) PutKeyPolicy, so a rotator
        // cannot grant itself kms:Sign; the account keeps PutKeyPolicy (core/key-policy.ts).
        BypassPolicyLockoutSafetyCheck: true,
        Description: keyDescription(spec.alg, this.#deploymentName, input.keyRef),
        Tags: keyTags(this.#deploymentName, input.keyRef),
        // Only a multi-Region key can be replicated, and only at creation can a key become one.
        ...(replicaRegions.length > 0 ? { MultiRegion: true } : {}),
      }),
    );
    const arn = out.KeyMetadata?.Arn;
    if (!arn) throw new JwksError('UPSTREAM', 'KMS CreateKey returned no key ARN');
    return { vaultKeyId: arn };
  }

  /** Single-region: nothing to do. Multi-region: see KmsReplication.ensure (kms-replicas.ts). */
  async ensureReplicas(vaultKeyId: string, regions?: readonly string[]): Promise<void> {
    await this.#replication?.ensure(vaultKeyId, regions);
  }

  async getPublicJwk(id: string, alg: Algorithm): Promise<PublicJwk> {
    const spec = algorithmSpec(alg);
    const vaultKeyId = this.#here(id);
    let out: GetPublicKeyCommandOutput;
    try {
      out = await this.#kms.send(new GetPublicKeyCommand({ KeyId: vaultKeyId }));
    } catch (err) {
      throw mapKeyError(err, vaultKeyId);
    }
    if (!out.PublicKey) throw new JwksError('UPSTREAM', `KMS GetPublicKey returned no key for ${vaultKeyId}`);
    if (out.KeyUsage !== 'SIGN_VERIFY' || !out.SigningAlgorithms?.includes(spec.kmsSigningAlgorithm)) {
      throw new InvalidArgumentError(`KMS key ${vaultKeyId} cannot sign with ${spec.kmsSigningAlgorithm}`);
    }
    return publicJwkFromKey(out.PublicKey, alg);
  }

  /**
   * `ListResourceTags`, then `GetPublicKey` for a key tagged for this deployment (IAM grants the
   * publisher both on such keys only). A key has at most 50 tags, one page. A disabled or pending-
   * deletion key gives no public key; throttling and KMS's internal failures throw.
   */
  async describeKey(id: string): Promise<VaultKeyFacts> {
    const vaultKeyId = this.#here(id);
    let tags: { TagKey?: string; TagValue?: string }[];
    try {
      tags = (await this.#kms.send(new ListResourceTagsCommand({ KeyId: vaultKeyId, Limit: 50 }))).Tags ?? [];
    } catch (err) {
      const refusal = refusalFacts(err);
      if (refusal) return refusal;
      throw err;
    }
    const tag = (key: string) => tags.find((t) => t.TagKey === key)?.TagValue;
    const keyRef = tag(KEY_TAGS.KEY_REF);
    const ours = tag(KEY_TAGS.DEPLOYMENT) === this.#deploymentName;
    const facts = { kind: 'present' as const, ours, ...(keyRef === undefined ? {} : { keyRef }) };
    if (!ours) return facts;
    try {
      const out = await this.#kms.send(new GetPublicKeyCommand({ KeyId: vaultKeyId }));
      return out.PublicKey ? { ...facts, publicKey: out.PublicKey } : facts;
    } catch (err) {
      const name = errorName(err);
      // The key is ours but will not show its public half now: disabled, pending deletion, or our
      // GetPublicKey grant is missing. The record may still be proven by an earlier publication.
      if (name && (UNUSABLE.has(name) || name === 'AccessDeniedException')) return facts;
      if (name && ABSENT.has(name)) return { kind: 'absent' };
      throw err;
    }
  }

  async listKeys(): Promise<VaultKey[]> {
    const keys: VaultKey[] = [];
    const pages = paginateGetResources(
      { client: this.#tagging },
      {
        ResourceTypeFilters: ['kms:key'],
        TagFilters: [{ Key: KEY_TAGS.DEPLOYMENT, Values: [this.#deploymentName] }],
      },
    );
    for await (const page of pages) {
      for (const mapping of page.ResourceTagMappingList ?? []) {
        if (!mapping.ResourceARN) continue;
        const keyRef = mapping.Tags?.find((t) => t.Key === KEY_TAGS.KEY_REF)?.Value;
        keys.push(
          keyRef === undefined
            ? { vaultKeyId: mapping.ResourceARN }
            : { vaultKeyId: mapping.ResourceARN, keyRef },
        );
      }
    }
    const regions = this.#regions;
    return regions ? Promise.all(keys.map((k) => regions.asRegistered(k))) : keys;
  }

  /**
   * Disabling a disabled key succeeds in KMS; a key pending deletion is already unusable, so that
   * succeeds too. Multi-region: every region's copy (KmsRegions.everyCopy).
   */
  async disableKey(vaultKeyId: string, regions?: readonly string[]): Promise<void> {
    await this.#inEveryRegion(vaultKeyId, (kms, arn) => disableCopy(kms, arn), regions);
  }

  async scheduleDeletion(vaultKeyId: string, windowDays: number, regions?: readonly string[]): Promise<void> {
    if (!Number.isInteger(windowDays) || windowDays < 7 || windowDays > 30) {
      throw new InvalidArgumentError('PendingWindowInDays must be 7–30');
    }
    await this.#inEveryRegion(vaultKeyId, (kms, arn) => scheduleCopyDeletion(kms, arn, windowDays), regions);
  }

  #inEveryRegion(
    vaultKeyId: string,
    op: (kms: KMSClient, arn: string) => Promise<void>,
    regions: readonly string[] | undefined,
  ): Promise<void> {
    return this.#regions ? this.#regions.everyCopy(vaultKeyId, op, regions) : op(this.#kms, vaultKeyId);
  }

  async sign(id: string, alg: Algorithm, signingInput: Uint8Array): Promise<Uint8Array> {
    const spec = algorithmSpec(alg);
    const vaultKeyId = this.#here(id);
    const digest = createHash(spec.digest).update(signingInput).digest();
    let out: SignCommandOutput;
    try {
      out = await this.#kms.send(
        new SignCommand({
          KeyId: vaultKeyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: spec.kmsSigningAlgorithm,
        }),
      );
    } catch (err) {
      const name = errorName(err);
      if (name && (UNUSABLE.has(name) || name === 'NotFoundException')) {
        throw new KeyUnusableError(`KMS refused to sign with ${vaultKeyId} (${name})`, { cause: err });
      }
      throw err;
    }
    if (!out.Signature) throw new JwksError('UPSTREAM', `KMS Sign returned no signature for ${vaultKeyId}`);
    return spec.kty === 'EC' ? derToJose(out.Signature, spec.componentLength) : out.Signature;
  }
}
