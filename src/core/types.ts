/**
 * The domain model shared by the pure core, the ports and the adapters. No I/O here.
 * All instants are epoch milliseconds (UTC); all durations are milliseconds.
 */

/** Signing algorithms we support, with the KMS key spec each maps to (RFC 7518 §3.1). */
export const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/**
 * Key lifecycle (design §3):
 * CREATING ─> PENDING ─> ACTIVE ─> RETIRED ─> EXPIRED, and PENDING/ACTIVE/RETIRED ─> REVOKED.
 * ABANDONED is a CREATING intent whose KMS key never appeared in time; the record is kept so the
 * keyRef stays known (a late-appearing key with that tag is ours and is scheduled for deletion,
 * never reported as foreign).
 */
export const KEY_STATUSES = [
  'CREATING',
  'PENDING',
  'ACTIVE',
  'RETIRED',
  'EXPIRED',
  'REVOKED',
  'ABANDONED',
] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];

/** A public JWK as published: exactly these members, never a private one (RFC 7517 §4, RFC 7518 §6). */
export type PublicJwk =
  | { kty: 'RSA'; kid: string; use: 'sig'; alg: Algorithm; n: string; e: string }
  | { kty: 'EC'; kid: string; use: 'sig'; alg: Algorithm; crv: 'P-256' | 'P-384'; x: string; y: string };

/** Who made a registry change and why: carried on every write, surfaced in events and audit. */
export interface ChangeContext {
  /** `schedule` for the reconciler, `publisher` for publication marks, `cli:<identity>` for operators. */
  readonly changedBy: string;
  readonly reason: string;
}

/** One key item of the registry (design §4). `keyRef` is the item's identity from intent to deletion. */
export interface KeyRecord {
  /** Random id written with the intent before `CreateKey`; the KMS key is tagged with it. */
  readonly keyRef: string;
  /** RFC 7638 thumbprint of the public key; absent while CREATING/ABANDONED. */
  readonly kid?: string;
  readonly alg: Algorithm;
  readonly status: KeyStatus;
  /** Item-level version, +1 on every write of this item (optimistic concurrency, event ordering). */
  readonly version: number;
  /** Vault key id (KMS key ARN, or the local vault's id); absent until the key exists. */
  readonly vaultKeyId?: string;
  /** The public JWK (with kid), stored because `GetPublicKey` fails once the key is disabled. */
  readonly publicJwk?: PublicJwk;
  readonly createdAt: number;
  /** When a JWKS containing this key was first published (set by the publisher, read by the planner's gate). */
  readonly publishedAt?: number;
  readonly activatedAt?: number;
  /** Operator override: the active period ends here instead of `activatedAt + rotationPeriod` (`jwks rotate`). */
  readonly periodEndsAt?: number;
  readonly retiredAt?: number;
  readonly disabledAt?: number;
  readonly expiredAt?: number;
  readonly revokedAt?: number;
  readonly abandonedAt?: number;
  readonly deletionScheduledAt?: number;
  readonly changedBy: string;
  readonly reason: string;
}

/**
 * The STATE item. `registryVersion` is incremented in the same transaction as every lifecycle
 * change, so it totally orders registry states. The signer reads only this item.
 */
export interface RegistryState {
  readonly registryVersion: number;
  readonly activeKeyRef?: string;
  readonly activeKid?: string;
  readonly activeAlg?: Algorithm;
  readonly activeVaultKeyId?: string;
  /** The standby slot: the keyRef of the CREATING or PENDING successor. At most one. */
  readonly pendingKeyRef?: string;
  /** The standby's kid once it has one (PENDING): what a signer with no ACTIVE key is waiting for. */
  readonly pendingKid?: string;
  /** Set once, when the first key of the deployment activates; after that the lead is never waived. */
  readonly bootstrappedAt?: number;
  readonly updatedAt?: number;
  /**
   * Multi-region (ADR 0008): the region whose rotate function is the registry's one writer, and the
   * fencing epoch of that choice (0 until the first `promote-region`). Absent in a single-region
   * deployment and before the first commit: the first region of REGIONS is then the primary.
   */
  readonly primaryRegion?: string;
  readonly epoch?: number;
}

/** One region's publisher put this key in the JWKS it wrote to that region's bucket (ADR 0008). */
export interface RegionPublication {
  readonly region: string;
  readonly keyRef: string;
  readonly kid: string;
  readonly publishedAt: number;
}

/** A `promote-region`: written once, never changed; the highest epoch names the primary (ADR 0008). */
export interface Promotion {
  readonly epoch: number;
  readonly region: string;
  readonly promotedAt: number;
  /**
   * The regions whose publication gates an activation from this epoch on (all of REGIONS when absent).
   * A lost region is left out, so rotation can resume without it; a later promotion re-admits it.
   */
  readonly servingRegions?: readonly string[];
  readonly changedBy: string;
  readonly reason: string;
}

export interface RegistrySnapshot {
  readonly state: RegistryState;
  readonly keys: readonly KeyRecord[];
  /** Per-region publication marks (multi-region only; empty or absent in a single region). */
  readonly publications?: readonly RegionPublication[];
  /** Every promotion ever made (multi-region only). */
  readonly promotions?: readonly Promotion[];
}

/** One key write inside a commit: the full new record, and the item version it must currently have. */
export interface KeyWrite {
  readonly record: KeyRecord;
  /** `null`: the item must not exist yet. Otherwise the item's current `version` (record.version = expected + 1). */
  readonly expectedVersion: number | null;
}

/**
 * One atomic registry transition: every key write plus the STATE item, conditioned on the
 * registry version read. Two reconcilers racing: exactly one commit succeeds, the other gets a
 * ConflictError and re-plans.
 */
export interface Commit {
  /** STATE.registryVersion as read (0 when no STATE item exists yet). The new version is expected + 1. */
  readonly expectedRegistryVersion: number;
  readonly keys: readonly KeyWrite[];
  /** The new STATE fields (registryVersion is set by the registry to expected + 1). */
  readonly state: Omit<RegistryState, 'registryVersion'>;
  readonly change: ChangeContext;
}

/** A key the vault holds with this deployment's tag. */
export interface VaultKey {
  readonly vaultKeyId: string;
  readonly keyRef?: string;
}

/** One entry of the append-only revocation list. */
export interface Revocation {
  readonly kid: string;
  readonly revokedAt: number;
  readonly reason: string;
  readonly changedBy: string;
}

/** The validated lifecycle policy (design §3). Durations in milliseconds. */
export interface Policy {
  readonly rotationPeriod: number;
  readonly prepublishLead: number;
  readonly retention: number;
  readonly maxTokenTtl: number;
  readonly clockSkew: number;
  readonly signerCacheTtl: number;
  /** `Cache-Control: max-age` of the JWKS, in milliseconds (rendered in whole seconds). */
  readonly jwksMaxAge: number;
  /** CloudFront cache policy max TTL, in milliseconds. */
  readonly cdnMaxTtl: number;
  readonly algorithm: Algorithm;
  /** KMS deletion window, in days (7–30). */
  readonly kmsDeletionWindowDays: number;
  /** A CREATING intent whose key has not appeared after this long is abandoned (> the rotator's timeout). */
  readonly intentTimeout: number;
  /**
   * The longest the global table may take to replicate a write to another region (design §12). A
   * region's signer may go on signing with a retired key this much longer than the primary knows.
   */
  readonly maxReplicationLag: number;
}

/** Policy settings as a user writes them: durations as strings (`30d`) or milliseconds. */
export type PolicyInput = Partial<
  Record<Exclude<keyof Policy, 'algorithm' | 'kmsDeletionWindowDays'>, string | number>
> & {
  readonly algorithm?: string;
  readonly kmsDeletionWindow?: string | number;
};
