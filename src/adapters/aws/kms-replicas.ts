/**
 * Replicating KMS multi-Region keys (ADR 0008): `ReplicateKey`, sent to the primary's region, into every
 * replica region that has no copy, each with its own region's key policy and this deployment's tags
 * (KMS does not replicate tags, and the vault proofs, listKeys and the publisher's IAM conditions read
 * them); then wait until every copy is Enabled, so a key is PENDING only once every region can sign.
 *
 * @see https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-replicate.html
 */
import {
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ListResourceTagsCommand,
  ReplicateKeyCommand,
} from '@aws-sdk/client-kms';
import { KEY_TAGS } from '../../constants.ts';
import { algorithmSpec, isAlgorithm } from '../../core/algorithms.ts';
import { buildKeyPolicy } from '../../core/key-policy.ts';
import type { Algorithm } from '../../core/types.ts';
import { InvalidArgumentError, ReplicaNotReadyError } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import { errorName, mapKeyError } from './kms-errors.ts';
import { arnInRegion, type KmsRegions, type KmsReplicaRegion, multiRegionArn } from './kms-regions.ts';

/** How long and how often to look for a new replica to become Enabled. */
export interface ReplicaWait {
  /** For all of one call's new replicas together: KMS says one is Creating for "a few seconds". Default 30 s. */
  readonly timeoutMs?: number;
  /** Default 1 s. */
  readonly intervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: Clock;
}

/** The tags every key and replica of this deployment carries (design §3 invariant 7). */
export const keyTags = (deploymentName: string, keyRef: string) => [
  { TagKey: KEY_TAGS.DEPLOYMENT, TagValue: deploymentName },
  { TagKey: KEY_TAGS.KEY_REF, TagValue: keyRef },
];

export const keyDescription = (alg: Algorithm, deploymentName: string, keyRef: string): string =>
  `JWT signing key (${alg}) of jwks-publisher deployment ${deploymentName}, keyRef ${keyRef}`;

/**
 * The algorithm a key was made for, from the description createKey gave it. The key spec alone cannot
 * tell RS256 from PS256, and the replica's policy must allow the same one signing algorithm.
 */
function algorithmOf(meta: KeyMetadata): Algorithm | undefined {
  const alg = /^JWT signing key \(([A-Z0-9]+)\) /.exec(meta.Description ?? '')?.[1];
  return isAlgorithm(alg) && algorithmSpec(alg).kmsKeySpec === meta.KeySpec ? alg : undefined;
}

/** The key's state in the region of `kms`; undefined when it has no copy there. */
async function keyState(kms: KMSClient, arn: string): Promise<string | undefined> {
  try {
    return (await kms.send(new DescribeKeyCommand({ KeyId: arn }))).KeyMetadata?.KeyState;
  } catch (err) {
    if (errorName(err) === 'NotFoundException') return undefined;
    throw err;
  }
}

/** What a replica is made from: the primary (where ReplicateKey is sent) and the key's own facts. */
interface ReplicaSource {
  readonly primaryArn: string;
  readonly primaryKms: KMSClient;
  readonly keyRef: string;
  readonly alg: Algorithm;
}

export class KmsReplication {
  readonly #regions: KmsRegions;
  readonly #deploymentName: string;
  readonly #timeoutMs: number;
  readonly #intervalMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #clock: Clock;

  constructor(opts: { regions: KmsRegions; deploymentName: string; wait?: ReplicaWait }) {
    this.#regions = opts.regions;
    this.#deploymentName = opts.deploymentName;
    this.#timeoutMs = opts.wait?.timeoutMs ?? 30_000;
    this.#intervalMs = opts.wait?.intervalMs ?? 1_000;
    this.#sleep = opts.wait?.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#clock = opts.wait?.clock ?? Date.now;
  }

  /**
   * ReplicateKey into every replica region that has no copy, then wait until each copy is Enabled.
   * `regions` limits it to the serving set: an excluded (lost) region is neither asked nor waited for.
   */
  async ensure(vaultKeyId: string, regions?: readonly string[]): Promise<void> {
    const replicas = this.#regions.replicas.filter((r) => !regions || regions.includes(r.region));
    if (replicas.length === 0) return;
    if (!multiRegionArn(vaultKeyId)) {
      throw new InvalidArgumentError(
        `${vaultKeyId} is not a multi-Region KMS key (mrk-): it cannot be replicated`,
      );
    }
    const pending: KmsReplicaRegion[] = [];
    let source: ReplicaSource | undefined;
    for (const replica of replicas) {
      const arn = arnInRegion(vaultKeyId, replica.region);
      const state = await keyState(replica.kms, arn);
      if (state === 'Enabled') continue;
      if (state === undefined) {
        source ??= await this.#source(vaultKeyId);
        await this.#replicate(source, replica);
      } else if (state !== 'Creating') {
        throw new ReplicaNotReadyError(
          replica.region,
          state,
          `the replica ${arn} is ${state}: it is never used`,
        );
      }
      pending.push(replica);
    }
    // All replications are under way before the first wait, so the replicas come up together and one
    // deadline bounds the whole wait (the rotate function's timeout must leave room for it).
    const deadline = this.#clock() + this.#timeoutMs;
    for (const replica of pending) {
      await this.#waitEnabled(replica, arnInRegion(vaultKeyId, replica.region), deadline);
    }
  }

  /**
   * The primary and the key's keyRef and algorithm, read from this region's copy. Its deployment tag
   * must be ours: replicating another deployment's key with our tags would make it pass the vault proofs
   * of every replica region.
   */
  async #source(vaultKeyId: string): Promise<ReplicaSource> {
    const { kms } = this.#regions;
    const here = this.#regions.here(vaultKeyId);
    const meta = await kms.send(new DescribeKeyCommand({ KeyId: here })).then(
      (out) => out.KeyMetadata,
      (err: unknown) => {
        throw mapKeyError(err, here);
      },
    );
    const primary = meta?.MultiRegionConfiguration?.PrimaryKey;
    if (!meta?.MultiRegion || !primary?.Arn || !primary.Region) {
      throw new InvalidArgumentError(`${here} is not a multi-Region KMS key: it cannot be replicated`);
    }
    const tags = (await kms.send(new ListResourceTagsCommand({ KeyId: here, Limit: 50 }))).Tags ?? [];
    const tag = (key: string) => tags.find((t) => t.TagKey === key)?.TagValue;
    const keyRef = tag(KEY_TAGS.KEY_REF);
    if (tag(KEY_TAGS.DEPLOYMENT) !== this.#deploymentName || !keyRef) {
      throw new InvalidArgumentError(
        `${here} is not a key of deployment ${this.#deploymentName}: not replicated`,
      );
    }
    const alg = algorithmOf(meta);
    if (!alg) throw new InvalidArgumentError(`${here} does not say which JWS algorithm it signs with`);
    const primaryKms = this.#regions.clientOf(primary.Region);
    if (!primaryKms) {
      throw new InvalidArgumentError(
        `the primary of ${here} is in ${primary.Region}, not a region of this deployment`,
      );
    }
    return { primaryArn: primary.Arn, primaryKms, keyRef, alg };
  }

  async #replicate(source: ReplicaSource, replica: KmsReplicaRegion): Promise<void> {
    try {
      await source.primaryKms.send(
        new ReplicateKeyCommand({
          KeyId: source.primaryArn,
          ReplicaRegion: replica.region,
          Policy: JSON.stringify(buildKeyPolicy(replica.keyPolicy, source.alg)),
          // As at CreateKey: the policy leaves PutKeyPolicy to the account (core/key-policy.ts).
          BypassPolicyLockoutSafetyCheck: true,
          Description: keyDescription(source.alg, this.#deploymentName, source.keyRef),
          Tags: keyTags(this.#deploymentName, source.keyRef),
        }),
      );
    } catch (err) {
      // Another run made it since we looked: its state is checked like ours.
      if (errorName(err) !== 'AlreadyExistsException') throw err;
    }
  }

  async #waitEnabled(replica: KmsReplicaRegion, arn: string, deadline: number): Promise<void> {
    for (;;) {
      // Not found yet right after ReplicateKey is KMS's eventual consistency, not an absence.
      const state = await keyState(replica.kms, arn);
      if (state === 'Enabled') return;
      if (state !== undefined && state !== 'Creating') {
        throw new ReplicaNotReadyError(
          replica.region,
          state,
          `the replica ${arn} is ${state}: it is never used`,
        );
      }
      if (this.#clock() >= deadline) {
        throw new ReplicaNotReadyError(
          replica.region,
          state,
          `the replica ${arn} is not Enabled after ${this.#timeoutMs} ms (${state ?? 'not visible yet'})`,
        );
      }
      await this.#sleep(this.#intervalMs);
    }
  }
}
