/**
 * The append-only revocation list (design §4): one object per revoked kid under `revocations/`,
 * written with `If-None-Match: *` before the registry is updated, in a bucket with Object Lock. The
 * publisher drops every listed kid, so a revoked key stays out of the JWKS even after a
 * point-in-time restore of the registry brings back a record that says ACTIVE (invariant 4).
 */
import { createHash } from 'node:crypto';
import { HEADERS, OBJECT_KEYS } from './constants.ts';
import type { Revocation } from './core/types.ts';
import { InvalidArgumentError, MalformedRecordError, PreconditionFailedError } from './errors.ts';
import type { ObjectStore } from './ports.ts';

/** A kid becomes part of an object key, so only the RFC 7638 thumbprint alphabet (base64url) is allowed. */
const KID = /^[A-Za-z0-9_-]{1,128}$/;

export function revocationKey(kid: string): string {
  if (!KID.test(kid)) throw new InvalidArgumentError(`kid ${JSON.stringify(kid)} is not base64url`);
  return `${OBJECT_KEYS.REVOCATIONS_PREFIX}${kid}`;
}

/**
 * Appends `revocation`. Returns `created: false` when the kid was already listed: the first entry
 * stands (the list is append-only; a retry or a second revoke must not rewrite it).
 */
export async function appendRevocation(
  store: ObjectStore,
  revocation: Revocation,
): Promise<{ created: boolean }> {
  const body = new TextEncoder().encode(
    JSON.stringify({
      kid: revocation.kid,
      revokedAt: revocation.revokedAt,
      reason: revocation.reason,
      changedBy: revocation.changedBy,
    }),
  );
  try {
    await store.put({
      key: revocationKey(revocation.kid),
      body,
      contentType: HEADERS.JSON,
      ifNoneMatch: '*',
      // Object Lock buckets refuse writes without a checksum.
      checksumSha256: createHash('sha256').update(body).digest('base64'),
    });
    return { created: true };
  } catch (err) {
    if (err instanceof PreconditionFailedError) return { created: false };
    throw err;
  }
}

/** Every revoked kid (object names are authoritative: reading each body is not needed to drop a kid). */
export async function listRevokedKids(store: ObjectStore): Promise<Set<string>> {
  const keys = await store.list(OBJECT_KEYS.REVOCATIONS_PREFIX);
  return new Set(
    keys.map((k) => k.slice(OBJECT_KEYS.REVOCATIONS_PREFIX.length)).filter((kid) => kid.length > 0),
  );
}

/** One revocation entry, or null when the kid is not listed. */
export async function readRevocation(store: ObjectStore, kid: string): Promise<Revocation | null> {
  const object = await store.get(revocationKey(kid));
  if (!object) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(object.body));
  } catch (err) {
    throw new MalformedRecordError(`revocation ${kid} is not JSON`, { cause: err });
  }
  const r = parsed as Partial<Revocation>;
  if (
    r.kid !== kid ||
    typeof r.revokedAt !== 'number' ||
    typeof r.reason !== 'string' ||
    typeof r.changedBy !== 'string'
  ) {
    throw new MalformedRecordError(`revocation ${kid} is not a revocation entry`);
  }
  return { kid: r.kid, revokedAt: r.revokedAt, reason: r.reason, changedBy: r.changedBy };
}
