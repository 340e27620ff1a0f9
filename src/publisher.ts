/**
 * Publishes the JWKS (design §5 write protocol). Never applies deltas: every run re-reads the whole
 * registry and the revocation list, renders deterministically, and converges, so duplicated,
 * reordered or replayed triggers change nothing.
 *
 * HEAD (ETag, registry-version, body-sha256) → read registry → prove every record against the vault
 * (design §11: a record the vault does not back is left out, logged and reported) → list revocations → render →
 * skip if the stored version is newer, or the bytes are equal → PUT If-Match (first write:
 * If-None-Match: *), 412/409 → start over → invalidate the CDN → mark `publishedAt`.
 *
 * The HEAD comes first on purpose: whatever is stored was rendered from a registry read that
 * happened before ours, so a stored version above ours can only mean the registry went back (a
 * point-in-time restore), and then we must not overwrite the newer document.
 */
import { createHash } from 'node:crypto';
import { HEADERS, OBJECT_KEYS, OBJECT_METADATA, PATHS } from './constants.ts';
import { renderJwks } from './core/jwks.ts';
import { gateRegions, type RegionConfig, unmarkedInRegion } from './core/regions.ts';
import type { KeyRecord, Policy, RegistrySnapshot } from './core/types.ts';
import type { ProofFailure } from './core/vault-proof.ts';
import { PreconditionFailedError } from './errors.ts';
import type { Cdn, Clock, Log, ObjectStore, Registry } from './ports.ts';
import { silentLog } from './ports.ts';
import { appendRevocation, listRevokedKids } from './revocations.ts';
import { type ProofVault, proveRecords, readPublishedJwks } from './vault-proofs.ts';

export interface PublishDeps {
  readonly registry: Pick<Registry, 'read' | 'markPublished' | 'markRegionPublished'>;
  /**
   * Multi-region (ADR 0008): this publisher marks only its own region's `PUBLISHED#` items and never
   * a key item; the primary's reconciler rolls the marks up into `publishedAt`. Absent: one region.
   */
  readonly regions?: RegionConfig;
  readonly store: ObjectStore;
  readonly cdn: Cdn;
  readonly policy: Policy;
  /** Proves each record before it is published: only keys the vault backs reach verifiers. */
  readonly vault: ProofVault;
  readonly log?: Log;
  /** The instant recorded as `publishedAt` (read after the invalidation); defaults to `now`. */
  readonly clock?: Clock;
  /** Write attempts before a run of conditional-write conflicts is reported (default 5). */
  readonly maxAttempts?: number;
}

export interface PublishResult {
  /** A new JWKS object was written (and the CDN invalidated). */
  readonly written: boolean;
  /**
   * Why nothing was written: the stored document is from a newer registry, or has these exact bytes, or
   * (multi-region) this region is outside the serving set and its JWKS was withdrawn.
   */
  readonly skipped?: 'stored-newer' | 'unchanged' | 'withdrawn';
  /** A CDN invalidation was requested by this run. */
  readonly invalidated: boolean;
  /** The registry version rendered. */
  readonly registryVersion: number;
  /** SHA-256 (hex) of the rendered body. */
  readonly sha256: string;
  /** The kids in the rendered document, in order. */
  readonly kids: string[];
  /** keyRefs this run recorded `publishedAt` for. */
  readonly marked: string[];
  readonly attempts: number;
  /** Records of published states the vault did not prove: left out of the document. */
  readonly unverified: UnverifiedRecord[];
}

/** A record left out because the vault does not back it (design §11). No key material. */
export interface UnverifiedRecord {
  readonly keyRef: string;
  readonly status: KeyRecord['status'];
  readonly kid?: string;
  readonly vaultKeyId?: string;
  readonly failure: ProofFailure;
}

/**
 * `Cache-Control` of the JWKS. No `stale-while-revalidate`: CloudFront honours it, so every cache
 * layer could serve the old set past max-age, beyond what the prepublish lead was computed for.
 * `stale-if-error` only applies when the origin fails, when a stale set is better than none.
 * @see https://www.rfc-editor.org/rfc/rfc5861
 */
export function jwksCacheControl(policy: Policy): string {
  const seconds = Math.floor(policy.jwksMaxAge / 1000);
  return `public, max-age=${seconds}, stale-if-error=${seconds}`;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function storedVersion(metadata: Readonly<Record<string, string>>): number | undefined {
  const raw = metadata[OBJECT_METADATA.REGISTRY_VERSION];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

export interface PublishOptions {
  /**
   * Overwrite a stored document rendered from a newer registry version. Only for the operator after a
   * point-in-time restore of the table, which takes the registry version back: without it the
   * publisher would refuse to publish until the version caught up. The write stays conditional.
   */
  readonly force?: boolean;
}

/** Rendered keys this publisher has not recorded as published (in its region, across regions). */
function unmarkedKeys(
  snapshot: RegistrySnapshot,
  keyRefs: readonly string[],
  regions?: RegionConfig,
): string[] {
  if (regions) return unmarkedInRegion(snapshot, regions.region, keyRefs);
  const publishedAtOf = new Map(snapshot.keys.map((k) => [k.keyRef, k.publishedAt]));
  return keyRefs.filter((ref) => publishedAtOf.get(ref) === undefined);
}

async function markKeys(
  deps: PublishDeps,
  snapshot: RegistrySnapshot,
  keyRefs: readonly string[],
  at: number,
): Promise<void> {
  if (!deps.regions) return deps.registry.markPublished(keyRefs, at);
  const kidOf = new Map(snapshot.keys.map((k) => [k.keyRef, k.kid]));
  const keys = keyRefs.flatMap((keyRef) => {
    const kid = kidOf.get(keyRef);
    return kid === undefined ? [] : [{ keyRef, kid }];
  });
  return deps.registry.markRegionPublished(deps.regions.region, keys, at);
}

/**
 * Multi-region (ADR 0008): the operator's revoke appends to the primary's bucket only; every region's
 * publisher copies each REVOKED record it reads into its own bucket's list, so a point-in-time restore
 * of that region's table (which could bring the key back) cannot put it back in that region's JWKS.
 * Create-only and idempotent, like every list entry. `revoked` is updated in place.
 */
async function mirrorRevocations(
  store: ObjectStore,
  snapshot: RegistrySnapshot,
  revoked: Set<string>,
  region: string,
  now: number,
): Promise<void> {
  for (const k of snapshot.keys) {
    if (k.status !== 'REVOKED' || !k.kid || revoked.has(k.kid)) continue;
    await appendRevocation(store, {
      kid: k.kid,
      revokedAt: k.revokedAt ?? now,
      reason: `revoked (the registry's REVOKED record, copied into ${region}'s list)`,
      changedBy: k.changedBy ?? 'schedule',
    });
    revoked.add(k.kid);
  }
}

/**
 * A region an operator excluded from the serving set (`promote-region --exclude`, ADR 0008) serves no
 * JWKS: its vault lacks the keys made while it was out, and a lost home region's bucket would otherwise
 * answer the edge with the set it held when it was lost. Without the object the edge's origin group
 * fails over (404/403) to a serving region's bucket. Re-admitting the region publishes it again.
 */
async function withdraw(
  deps: PublishDeps,
  registryVersion: number,
  stored: boolean,
  log: Log,
): Promise<PublishResult> {
  if (stored) {
    await deps.store.delete(OBJECT_KEYS.JWKS);
    await deps.cdn.invalidate([PATHS.JWKS], `withdrawn-${registryVersion}`);
    log.warn('this region is outside the serving set: its JWKS is withdrawn, the edge fails over', {
      region: deps.regions?.region,
      registryVersion,
    });
  }
  const empty = { sha256: '', kids: [], marked: [], attempts: 1, unverified: [] };
  return { ...empty, written: false, skipped: 'withdrawn', invalidated: stored, registryVersion };
}

export async function publishJwks(
  deps: PublishDeps,
  now: number,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const log = deps.log ?? silentLog;
  const maxAttempts = deps.maxAttempts ?? 5;
  let lastConflict: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const head = await deps.store.head(OBJECT_KEYS.JWKS);
    const snapshot = await deps.registry.read();
    if (deps.regions && !gateRegions(snapshot, deps.regions).includes(deps.regions.region)) {
      return withdraw(deps, snapshot.state.registryVersion, head !== null, log);
    }
    const proofs = await proveRecords(deps.vault, snapshot.keys, () => readPublishedJwks(deps.store));
    const unverified: UnverifiedRecord[] = [];
    for (const k of snapshot.keys) {
      const proof = proofs.get(k.keyRef);
      if (proof?.verified !== false) continue;
      const { keyRef, status, kid, vaultKeyId } = k;
      const entry = { keyRef, status, kid, vaultKeyId, failure: proof.failure };
      unverified.push(entry);
      log.error('registry record not backed by the vault; left out of the JWKS', { ...entry });
    }
    const revoked = await listRevokedKids(deps.store);
    if (deps.regions) await mirrorRevocations(deps.store, snapshot, revoked, deps.regions.region, now);
    // Only proven records are rendered, so an unverified one cannot change what the others publish.
    const rendered = renderJwks(
      snapshot.keys.filter((k) => proofs.get(k.keyRef)?.verified === true),
      revoked,
    );
    const body = new TextEncoder().encode(rendered.body);
    const sha256 = sha256Hex(body);
    const registryVersion = snapshot.state.registryVersion;
    const unmarked = unmarkedKeys(snapshot, rendered.keyRefs, deps.regions);
    const mark = (at: number) => markKeys(deps, snapshot, unmarked, at);
    const base = { registryVersion, sha256, kids: rendered.kids, attempts: attempt, unverified };

    const stored = head ? storedVersion(head.metadata) : undefined;
    if (stored !== undefined && stored > registryVersion && !options.force) {
      // The document out there is from a newer registry; its keys are not ours to mark.
      log.warn('stored JWKS is from a newer registry version; not overwriting', { stored, registryVersion });
      return { ...base, written: false, skipped: 'stored-newer', invalidated: false, marked: [] };
    }

    if (head && head.metadata[OBJECT_METADATA.BODY_SHA256] === sha256) {
      // Same bytes are stored (invariant 6: no write, no invalidation). Keys still unmarked mean the
      // writer may have died before invalidating: repeat ITS invalidation (same CallerReference, which
      // CloudFront treats as the same request) before marking, so `publishedAt` never precedes it.
      let invalidated = false;
      if (unmarked.length > 0) {
        await deps.cdn.invalidate([PATHS.JWKS], `${stored ?? registryVersion}-${sha256}`);
        invalidated = true;
        await mark(deps.clock?.() ?? now);
      }
      return { ...base, written: false, skipped: 'unchanged', invalidated, marked: unmarked };
    }

    try {
      await deps.store.put({
        key: OBJECT_KEYS.JWKS,
        body,
        contentType: HEADERS.JSON,
        cacheControl: jwksCacheControl(deps.policy),
        metadata: {
          [OBJECT_METADATA.REGISTRY_VERSION]: String(registryVersion),
          [OBJECT_METADATA.BODY_SHA256]: sha256,
        },
        ...(head ? { ifMatch: head.etag } : { ifNoneMatch: '*' as const }),
      });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      lastConflict = err;
      log.info('JWKS changed while publishing; starting over', { attempt });
      continue;
    }
    // The CallerReference names the content, so a restore that reuses a version still invalidates.
    await deps.cdn.invalidate([PATHS.JWKS], `${registryVersion}-${sha256}`);
    // Only now can a verifier fetch the new set through the CDN: this is what the activation gate reads.
    if (unmarked.length > 0) await mark(deps.clock?.() ?? now);
    log.info('published JWKS', { registryVersion, sha256, kids: rendered.kids });
    return { ...base, written: true, invalidated: true, marked: unmarked };
  }
  throw new PreconditionFailedError(`JWKS kept changing during ${maxAttempts} publish attempts`, {
    cause: lastConflict,
  });
}
