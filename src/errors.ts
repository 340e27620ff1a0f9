/**
 * Every error this system raises on purpose. Each carries a stable `code` (tests and callers
 * branch on it, never on the message) and passes the underlying `cause` on.
 */
export type ErrorCode =
  | 'INVALID_POLICY'
  | 'INVALID_DURATION'
  | 'MISSING_CONFIG'
  | 'INVALID_CONFIG'
  | 'NO_ACTIVE_KEY'
  | 'KEY_NOT_PUBLISHED'
  | 'KEY_NOT_FOUND'
  | 'KEY_UNUSABLE'
  | 'REPLICA_NOT_READY'
  | 'CONFLICT'
  | 'PRECONDITION_FAILED'
  | 'INVALIDATION_FAILED'
  | 'MALFORMED_RECORD'
  | 'INVALID_SIGNATURE_ENCODING'
  | 'UNSUPPORTED_ALGORITHM'
  | 'INVALID_ARGUMENT'
  | 'DATA_DIR_LOCKED'
  | 'ADDRESS_IN_USE'
  | 'NOT_LOOPBACK'
  | 'TORN_READ'
  | 'AUDIT_CHAIN_BROKEN'
  | 'KEY_UNVERIFIED'
  | 'NOT_PRIMARY'
  | 'FENCED'
  | 'UPSTREAM';

export class JwksError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A lifecycle policy setting broke a rule of design §3; `setting` names it. */
export class PolicyError extends JwksError {
  readonly setting: string;
  constructor(setting: string, message: string, options?: { cause?: unknown }) {
    super('INVALID_POLICY', `${setting}: ${message}`, options);
    this.setting = setting;
  }
}

/** A duration string is not `<digits><s|m|h|d>`. */
export class DurationError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_DURATION', message, options);
  }
}

/** A required environment variable is missing or empty (handlers fail at cold start). */
export class ConfigError extends JwksError {
  readonly variable: string;
  constructor(variable: string, message?: string, options?: { cause?: unknown }) {
    super(message ? 'INVALID_CONFIG' : 'MISSING_CONFIG', message ?? `${variable} is not set`, options);
    this.variable = variable;
  }
}

/**
 * The signer found no ACTIVE key in the registry. `awaitingKid`: the standby that activates as soon as
 * the publisher has published it (the window after an emergency revoke found no published standby).
 */
export class NoActiveKeyError extends JwksError {
  readonly awaitingKid: string | undefined;
  constructor(
    message = 'no ACTIVE signing key in the registry',
    options?: { cause?: unknown; awaitingKid?: string },
  ) {
    super('NO_ACTIVE_KEY', message, options);
    this.awaitingKid = options?.awaitingKid;
  }

  /** No ACTIVE key because the standby `kid` has not been published yet (design §3, Emergency revoke). */
  static awaitingPublication(kid: string, options?: { cause?: unknown }): NoActiveKeyError {
    return new NoActiveKeyError(
      `no ACTIVE key: waiting for publication of ${kid} (it activates as soon as the publisher has published it)`,
      { ...options, awaitingKid: kid },
    );
  }
}

/**
 * A key would have to sign before any JWKS containing it was published (invariant 2): refused. The
 * prepublish lead may be waived by an operator, publication never.
 */
export class KeyNotPublishedError extends JwksError {
  readonly kid: string | undefined;
  constructor(kid: string | undefined, message: string, options?: { cause?: unknown }) {
    super('KEY_NOT_PUBLISHED', message, options);
    this.kid = kid;
  }
}

/**
 * A lifecycle change was asked of a region that is not the registry's writer (ADR 0008): only the
 * primary region commits; `primaryRegion` names where to ask (or what `promote-region` would replace).
 */
export class NotPrimaryRegionError extends JwksError {
  readonly primaryRegion: string;
  constructor(primaryRegion: string, message: string, options?: { cause?: unknown }) {
    super('NOT_PRIMARY', message, options);
    this.primaryRegion = primaryRegion;
  }
}

/**
 * A lifecycle commit was refused because a newer promotion exists in the writing region's table
 * (`PROMOTION#<epoch + 1>`, ADR 0008): this region has been fenced off. Final: the writer stops and
 * never retries; re-reading makes it step down to watch mode.
 */
export class FencedError extends JwksError {
  /** The epoch the refused commit was made under. */
  readonly epoch: number;
  constructor(epoch: number, message: string, options?: { cause?: unknown }) {
    super('FENCED', message, options);
    this.epoch = epoch;
  }
}

export class KeyNotFoundError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_NOT_FOUND', message, options);
  }
}

/** The key vault refused to use a key: disabled, pending deletion, or otherwise in an invalid state. */
export class KeyUnusableError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_UNUSABLE', message, options);
  }
}

/**
 * Multi-region (ADR 0008): a key's replica in `region` cannot sign — it did not become Enabled within
 * the wait, or it exists in another state (Disabled, PendingDeletion), which is never silently used.
 * `keyState` is the last state seen (undefined when the replica was never seen).
 */
export class ReplicaNotReadyError extends JwksError {
  readonly region: string;
  readonly keyState: string | undefined;
  constructor(region: string, keyState: string | undefined, message: string, options?: { cause?: unknown }) {
    super('REPLICA_NOT_READY', message, options);
    this.region = region;
    this.keyState = keyState;
  }
}

/**
 * The registry names a signing key the vault does not back: its kid is not the thumbprint of the
 * vault's public key for its vaultKeyId (design §11). Nothing is signed with it.
 */
export class UnverifiedKeyError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KEY_UNVERIFIED', message, options);
  }
}

/** An optimistic-concurrency condition failed (another writer got there first). Re-read and re-plan. */
export class ConflictError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFLICT', message, options);
  }
}

/** A conditional object write (`If-Match` / `If-None-Match`) failed: 412 or 409. Start over. */
export class PreconditionFailedError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PRECONDITION_FAILED', message, options);
  }
}

/** A CDN invalidation could not be created after retries. Never swallowed. */
export class InvalidationError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALIDATION_FAILED', message, options);
  }
}

export class MalformedRecordError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED_RECORD', message, options);
  }
}

export class SignatureEncodingError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_SIGNATURE_ENCODING', message, options);
  }
}

export class UnsupportedAlgorithmError extends JwksError {
  constructor(alg: string, options?: { cause?: unknown }) {
    super('UNSUPPORTED_ALGORITHM', `unsupported algorithm: ${alg}`, options);
  }
}

export class InvalidArgumentError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** An embedded server would be reachable from beyond this machine's loopback interface (design §11). */
export class NotLoopbackError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_LOOPBACK', message, options);
  }
}

/** An object read whose bytes are not the ones its ETag names: read while it was being rewritten. */
export class TornReadError extends JwksError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TORN_READ', message, options);
  }
}

export const hasCode = (err: unknown, code: ErrorCode): boolean =>
  err instanceof JwksError && err.code === code;
