/**
 * Which region's copy of a KMS key to use (ADR 0008). A multi-Region key has the same `mrk-` key id and
 * key material in every region, so the same kid, but each region's copy is a separate resource with its
 * own key policy, tags and key state. So a vault in region R uses R's copy of any `mrk-` ARN it is given
 * (the registry keeps the primary's ARN), and retiring a key (DisableKey, ScheduleKeyDeletion, both
 * idempotent) reaches every region's copy.
 *
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html
 */
import {
  DescribeKeyCommand,
  DisableKeyCommand,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import type { KeyPolicyPrincipals } from '../../core/key-policy.ts';
import type { VaultKey } from '../../core/types.ts';
import { InvalidArgumentError, KeyNotFoundError } from '../../errors.ts';
import { errorName, mapKeyError } from './kms-errors.ts';

/** A region the rotate function replicates keys into. */
export interface KmsReplicaRegion {
  readonly region: string;
  /** A client of that region. */
  readonly kms: KMSClient;
  /** The principals of that region's key policy (REGION_KEY_POLICIES). */
  readonly keyPolicy: KeyPolicyPrincipals;
}

const KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;

interface KeyArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly keyId: string;
}

/** The parts of a multi-Region key's ARN (`…:key/mrk-…`); undefined for any other id. */
export function multiRegionArn(id: string): KeyArn | undefined {
  const m = KEY_ARN.exec(id);
  if (!m?.[4]?.startsWith('mrk-')) return undefined;
  return { partition: m[1] as string, region: m[2] as string, account: m[3] as string, keyId: m[4] };
}

/** The same multi-Region key's ARN in `region`; any other id (a single-Region key, a bare id) unchanged. */
export function arnInRegion(vaultKeyId: string, region: string): string {
  const arn = multiRegionArn(vaultKeyId);
  if (!arn || arn.region === region) return vaultKeyId;
  return `arn:${arn.partition}:kms:${region}:${arn.account}:key/${arn.keyId}`;
}

/** One region's copy of a key. `primary`: the copy the ARN names, retired last. */
export interface KeyCopy {
  readonly region: string;
  readonly kms: KMSClient;
  readonly arn: string;
  readonly primary: boolean;
}

export class KmsRegions {
  readonly region: string;
  readonly kms: KMSClient;
  readonly replicas: readonly KmsReplicaRegion[];

  constructor(opts: { region: string; kms: KMSClient; replicas?: readonly KmsReplicaRegion[] }) {
    const replicas = opts.replicas ?? [];
    const regions = [opts.region, ...replicas.map((r) => r.region)];
    if (new Set(regions).size !== regions.length) {
      throw new InvalidArgumentError(`replica regions must differ from each other and from ${opts.region}`);
    }
    this.region = opts.region;
    this.kms = opts.kms;
    this.replicas = replicas;
  }

  /** The client of `region` (this vault's or a replica region's); undefined for any other region. */
  clientOf(region: string): KMSClient | undefined {
    return region === this.region ? this.kms : this.replicas.find((r) => r.region === region)?.kms;
  }

  /** This region's ARN of the key. */
  here(vaultKeyId: string): string {
    return arnInRegion(vaultKeyId, this.region);
  }

  /**
   * Every region's copy of the key, replicas first and the one the ARN names last: that is the primary
   * (the registry keeps the ARN CreateKey returned, and nothing here moves a primary), and KMS keeps a
   * primary whose replicas still exist in PendingReplicaDeletion. A single-Region key has one copy.
   */
  copies(vaultKeyId: string): KeyCopy[] {
    const arn = multiRegionArn(vaultKeyId);
    if (!arn || this.replicas.length === 0) {
      return [{ region: this.region, kms: this.kms, arn: this.here(vaultKeyId), primary: true }];
    }
    const all = [{ region: this.region, kms: this.kms }, ...this.replicas];
    const primaryRegion = this.clientOf(arn.region) ? arn.region : this.region;
    const copies = all.map((r) => ({
      region: r.region,
      kms: r.kms,
      arn: arnInRegion(vaultKeyId, r.region),
      primary: r.region === primaryRegion,
    }));
    return [...copies.filter((c) => !c.primary), ...copies.filter((c) => c.primary)];
  }

  /**
   * Apply `op` to every region's copy, replicas before the primary. A region without a replica has
   * nothing to retire; any other failure is thrown once every region has been tried, so one region that
   * cannot be reached never leaves the copies in the others usable. With `required` (the serving set),
   * a failure in a region outside it is not thrown: an operator excluded that region as lost, and the
   * lifecycle must go on without it (its copies are retired when it is re-admitted, region-catch-up.ts).
   */
  async everyCopy(
    vaultKeyId: string,
    op: (kms: KMSClient, arn: string) => Promise<void>,
    required?: readonly string[],
  ): Promise<void> {
    const failures: unknown[] = [];
    for (const copy of this.copies(vaultKeyId)) {
      try {
        await op(copy.kms, copy.arn);
      } catch (err) {
        const excused =
          required !== undefined && copy.region !== this.region && !required.includes(copy.region);
        if (excused) continue;
        if (copy.primary || !(err instanceof KeyNotFoundError)) failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  /**
   * The tagging API lists this region's copies, but the registry names each key by the ARN CreateKey
   * returned, its primary's: a replica listed as itself would look like a second key with the same
   * keyRef. One DescribeKey per multi-Region key (the rotate function's listing only).
   */
  async asRegistered(key: VaultKey): Promise<VaultKey> {
    if (!multiRegionArn(key.vaultKeyId)) return key;
    try {
      const out = await this.kms.send(new DescribeKeyCommand({ KeyId: key.vaultKeyId }));
      const primary = out.KeyMetadata?.MultiRegionConfiguration?.PrimaryKey?.Arn;
      return primary ? { ...key, vaultKeyId: primary } : key;
    } catch (err) {
      // Deleted since the (eventually consistent) tag listing: listed as it was, as in one region.
      if (errorName(err) === 'NotFoundException') return key;
      throw err;
    }
  }
}

const PENDING_DELETION = new Set(['PendingDeletion', 'PendingReplicaDeletion']);

/** Disable one region's copy (the only copy in one region). */
export async function disableCopy(kms: KMSClient, vaultKeyId: string): Promise<void> {
  try {
    await kms.send(new DisableKeyCommand({ KeyId: vaultKeyId }));
  } catch (err) {
    await unlessPendingDeletion(kms, err, vaultKeyId);
  }
}

export async function scheduleCopyDeletion(
  kms: KMSClient,
  vaultKeyId: string,
  windowDays: number,
): Promise<void> {
  try {
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: vaultKeyId, PendingWindowInDays: windowDays }));
  } catch (err) {
    await unlessPendingDeletion(kms, err, vaultKeyId);
  }
}

/**
 * KMSInvalidStateException from DisableKey/ScheduleKeyDeletion means success only when the key is
 * already pending deletion (a primary waiting for its replicas' deletion included); any other state
 * (Creating, Unavailable, …) is a real failure.
 */
async function unlessPendingDeletion(kms: KMSClient, err: unknown, vaultKeyId: string): Promise<void> {
  if (errorName(err) !== 'KMSInvalidStateException') throw mapKeyError(err, vaultKeyId);
  const described = await kms.send(new DescribeKeyCommand({ KeyId: vaultKeyId }));
  if (PENDING_DELETION.has(described.KeyMetadata?.KeyState ?? '')) return;
  throw err;
}
