/**
 * The seams: one interface per external system. The core and the application services depend on
 * these; adapters implement them (AWS SDK v3 in `adapters/aws`, node:crypto in `adapters/local`).
 * Adapters carry no "if local" branch: locally the AWS adapters reach embedded servers through the
 * SDK's standard endpoint settings.
 */
import type {
  Algorithm,
  ChangeContext,
  Commit,
  PublicJwk,
  RegistrySnapshot,
  RegistryState,
  VaultKey,
} from './core/types.ts';
import type { VaultKeyFacts } from './core/vault-proof.ts';

/** KMS, or the local node:crypto vault. Private key material never leaves an implementation. */
export interface KeyVault {
  /** Create an asymmetric SIGN_VERIFY key tagged with this deployment and `keyRef`. */
  createKey(input: { keyRef: string; alg: Algorithm }): Promise<{ vaultKeyId: string }>;
  /** The public key as a JWK with `kid` = RFC 7638 thumbprint, `use: sig`, `alg`. Fails once disabled (KMS). */
  getPublicJwk(vaultKeyId: string, alg: Algorithm): Promise<PublicJwk>;
  /**
   * What the vault itself says about a key, to prove a registry record (design §11): whether it
   * exists, whether it carries this deployment's tag and which keyRef, and its public key (SPKI DER)
   * while the vault gives it. A refusal about this key is an answer (`absent`, `denied`); only a
   * failure to ask (throttling, network) throws.
   */
  describeKey(vaultKeyId: string): Promise<VaultKeyFacts>;
  /**
   * Multi-region (ADR 0008): make sure the key has a replica in every replica region (same key material,
   * same kid), waiting until each can sign. Idempotent; a single-region vault has nothing to do.
   * `regions`: the serving set (the latest promotion's), when an operator excluded a lost region: only
   * those are replicated into, so rotation goes on without the lost one; re-admitting it catches its
   * copies up (region-catch-up.ts).
   */
  ensureReplicas(vaultKeyId: string, regions?: readonly string[]): Promise<void>;
  /** Every key carrying this deployment's tag, with its keyRef tag when present. */
  listKeys(): Promise<VaultKey[]>;
  /**
   * Idempotent: disabling a disabled key succeeds. Multi-region: every region's copy; with `regions`
   * (the serving set), a copy outside it that cannot be reached does not fail the call (it is retired
   * when its region is re-admitted).
   */
  disableKey(vaultKeyId: string, regions?: readonly string[]): Promise<void>;
  /** Idempotent: a key already pending deletion succeeds. `regions`: as for `disableKey`. */
  scheduleDeletion(vaultKeyId: string, windowDays: number, regions?: readonly string[]): Promise<void>;
  /**
   * Sign the JWS signing input (RFC 7515 §5.1) and return the JOSE-encoded signature
   * (RSA: raw; ECDSA: R‖S fixed length, RFC 7518 §3.4). Throws KeyUnusableError when the key is
   * disabled or pending deletion.
   */
  sign(vaultKeyId: string, alg: Algorithm, signingInput: Uint8Array): Promise<Uint8Array>;
}

/** The DynamoDB key registry. */
export interface Registry {
  /** Strongly consistent read of the STATE item and every key item. */
  read(): Promise<RegistrySnapshot>;
  /** Strongly consistent read of the STATE item alone (the signer's read). */
  readState(): Promise<RegistryState>;
  /** Apply one transition atomically; throws ConflictError when any condition fails. */
  commit(commit: Commit): Promise<void>;
  /**
   * Set `publishedAt` on keys that lack it (no registry-version bump: the JWKS does not change).
   * Conditional per item on the absence of `publishedAt`; keys that already have it are skipped.
   */
  markPublished(keyRefs: readonly string[], at: number): Promise<void>;
  /**
   * Multi-region (ADR 0008): record that `region`'s publisher served these keys. Writes only
   * `PUBLISHED#<region>#<keyRef>` items, each once (a mark already there is kept with its instant).
   */
  markRegionPublished(
    region: string,
    keys: readonly { keyRef: string; kid: string }[],
    at: number,
  ): Promise<void>;
  /**
   * Make `region` the primary with `epoch` (one more than the highest promotion): writes the
   * `PROMOTION#<epoch>` item (must not exist) and STATE in one transaction conditioned on the registry
   * version read. Throws ConflictError when either condition fails.
   */
  promote(input: PromoteInput): Promise<void>;
}

/** A `promote-region` write (see Registry.promote). */
export interface PromoteInput {
  readonly region: string;
  readonly epoch: number;
  readonly expectedRegistryVersion: number;
  readonly at: number;
  readonly change: ChangeContext;
  /** The regions whose publication gates activations from now on (absent: every region). */
  readonly servingRegions?: readonly string[];
}

export interface StoredObjectHead {
  readonly etag: string;
  /** User metadata, lower-case names, without the `x-amz-meta-` prefix. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly contentType?: string;
  readonly cacheControl?: string;
  readonly lastModified?: Date;
}

export interface StoredObject extends StoredObjectHead {
  readonly body: Uint8Array;
}

export interface PutObjectInput {
  readonly key: string;
  readonly body: Uint8Array;
  readonly contentType: string;
  readonly cacheControl?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Write only if the current ETag matches. */
  readonly ifMatch?: string;
  /** `*`: write only if no object exists under the key. */
  readonly ifNoneMatch?: '*';
  /**
   * Base64 SHA-256 of `body`. When given, the store verifies the bytes against it and keeps it with the
   * object (S3: `x-amz-checksum-sha256`; Object Lock buckets require a checksum on every write).
   */
  readonly checksumSha256?: string;
}

/** S3 (or s3rver). Conditional writes throw PreconditionFailedError on 412/409. */
export interface ObjectStore {
  head(key: string): Promise<StoredObjectHead | null>;
  get(key: string): Promise<StoredObject | null>;
  put(input: PutObjectInput): Promise<{ etag: string }>;
  /** Every key under the prefix (all pages). */
  list(prefix: string): Promise<string[]>;
  /**
   * Remove the object; a missing one succeeds. Only a multi-region publisher withdrawing its JWKS while
   * its region is outside the serving set uses it (ADR 0008), so the edge's origin group fails over.
   */
  delete(key: string): Promise<void>;
}

/** CloudFront (or the local edge's cache). */
export interface Cdn {
  /**
   * Invalidate the paths. `callerReference` makes a retry of the same request idempotent.
   * Throttling is retried with backoff; persistent failure throws InvalidationError.
   */
  invalidate(paths: readonly string[], callerReference: string): Promise<void>;
}

/** A clock, injected so tests freeze time and the core stays pure. */
export type Clock = () => number;

/** Structured logging (the Powertools Logger satisfies it). Never pass key material. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A Log that drops everything (tests, and callers that do not care). */
export const silentLog: Log = { info() {}, warn() {}, error() {} };
