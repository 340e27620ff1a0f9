/**
 * How the KMS adapter reads KMS's errors: by `name` (modelled exceptions and unmodelled ones such as
 * AccessDeniedException alike), mapped to this system's errors with KMS's own as `cause`.
 */
import { KeyNotFoundError, KeyUnusableError } from '../../errors.ts';

export const errorName = (err: unknown): string | undefined => (err instanceof Error ? err.name : undefined);

/** KMS's answers for a key that exists but may not be used now (disabled, pending deletion, …). */
export const UNUSABLE = new Set(['DisabledException', 'KMSInvalidStateException']);
/** KMS's answers that there is no such key here (an ARN of another account or region is one too). */
export const ABSENT = new Set(['NotFoundException', 'InvalidArnException']);

/** NotFound → KeyNotFoundError; disabled/invalid state → KeyUnusableError; anything else unchanged. */
export function mapKeyError(err: unknown, vaultKeyId: string): unknown {
  const name = errorName(err);
  if (name === 'NotFoundException') return new KeyNotFoundError(`no KMS key ${vaultKeyId}`, { cause: err });
  if (name && UNUSABLE.has(name))
    return new KeyUnusableError(`KMS key ${vaultKeyId} is unusable (${name})`, { cause: err });
  return err;
}
