/**
 * Publishes the discovery documents (RFC 8414 metadata, OpenID configuration) next to the JWKS, with
 * the JWKS's write protocol (design §5): HEAD, skip when the bytes are equal, conditional write
 * (`If-Match`, or `If-None-Match: *` the first time), start over on 412/409, invalidate only what
 * changed. They depend on the issuer and the policy only, so after the first deployment they are
 * written again only when one of those changes.
 */
import { OBJECT_KEYS, OBJECT_METADATA, PATHS } from './constants.ts';
import { renderDiscoveryDocuments } from './core/discovery.ts';
import type { Policy } from './core/types.ts';
import { PreconditionFailedError } from './errors.ts';
import type { Cdn, Log, ObjectStore } from './ports.ts';
import { silentLog } from './ports.ts';
import { jwksCacheControl, sha256Hex } from './publisher.ts';

export interface DiscoveryDeps {
  readonly store: ObjectStore;
  readonly cdn: Cdn;
  readonly policy: Policy;
  /** The canonical issuer (design §2): the CloudFront or custom-domain origin, or the local edge. */
  readonly issuer: string;
  readonly log?: Log;
  readonly maxAttempts?: number;
}

export interface DiscoveryResult {
  /** URL paths written (and invalidated) by this run. */
  readonly written: string[];
}

/** Write one document if its bytes changed; true when written. */
async function publishDocument(deps: DiscoveryDeps, key: string, text: string): Promise<boolean> {
  const body = new TextEncoder().encode(text);
  const sha256 = sha256Hex(body);
  const maxAttempts = deps.maxAttempts ?? 5;
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const head = await deps.store.head(key);
    if (head?.metadata[OBJECT_METADATA.BODY_SHA256] === sha256) return false;
    try {
      await deps.store.put({
        key,
        body,
        contentType: 'application/json',
        // Same freshness as the JWKS: verifiers that discover `jwks_uri` here refetch on the same clock.
        cacheControl: jwksCacheControl(deps.policy),
        metadata: { [OBJECT_METADATA.BODY_SHA256]: sha256 },
        ...(head ? { ifMatch: head.etag } : { ifNoneMatch: '*' as const }),
      });
      return true;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      lastConflict = err;
    }
  }
  throw new PreconditionFailedError(`${key} kept changing during ${maxAttempts} publish attempts`, {
    cause: lastConflict,
  });
}

export async function publishDiscovery(deps: DiscoveryDeps): Promise<DiscoveryResult> {
  const docs = renderDiscoveryDocuments(deps.issuer, deps.policy);
  const written: string[] = [];
  if (await publishDocument(deps, OBJECT_KEYS.OAUTH_METADATA, docs.oauthMetadata)) {
    written.push(PATHS.OAUTH_METADATA);
  }
  if (await publishDocument(deps, OBJECT_KEYS.OPENID_CONFIGURATION, docs.openidConfiguration)) {
    written.push(PATHS.OPENID_CONFIGURATION);
  }
  if (written.length > 0) {
    const reference = `discovery-${sha256Hex(new TextEncoder().encode(docs.oauthMetadata + docs.openidConfiguration))}`;
    await deps.cdn.invalidate(written, reference);
    (deps.log ?? silentLog).info('published discovery documents', { paths: written });
  }
  return { written };
}
