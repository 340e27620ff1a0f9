/**
 * The operator actions themselves: the same operations the reconciler and the publisher use, plus the
 * summary an operator reads. One implementation for both places they run — the CLI against the local
 * stack, and the deployed rotate and publish functions for `--stack` — so both print the same thing.
 */
import { formatDuration } from '../core/duration.ts';
import { type RegionConfig, writerRole } from '../core/regions.ts';
import type { ChangeContext } from '../core/types.ts';
import { publishDiscovery } from '../discovery-publisher.ts';
import { InvalidArgumentError, NotPrimaryRegionError } from '../errors.ts';
import { type OperationDeps, requestRotation, revokeKey } from '../operations.ts';
import { type PublishDeps, type PublishResult, publishJwks } from '../publisher.ts';
import { promoteRegion } from '../region-promotion.ts';
import type { OperatorOutcome, OperatorRequest } from './action.ts';

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/** `rotate` (design §3): end the ACTIVE period now; `immediate`: activate the standby at once. */
export async function rotateAction(
  deps: OperationDeps,
  immediate: boolean,
  change: ChangeContext,
  now: number,
): Promise<OperatorOutcome> {
  // With the store, the reconcile this runs also finishes any revoke the revocation list holds.
  const result = await requestRotation(deps, { immediate }, change, now);
  const lead = deps.policy.prepublishLead;
  const warnings = immediate
    ? [
        `rotate --now: ${result.activated?.kid ?? 'the standby'} signs from now on; verifiers with a cached JWKS ` +
          `that does not contain it may reject its tokens until that cache expires`,
        ...result.warnings,
      ]
    : [];
  // Where the standby stands now, so the operator knows when the rotation takes effect.
  const snapshot = await deps.registry.read();
  const standby = snapshot.keys.find((k) => k.keyRef === snapshot.state.pendingKeyRef);
  const activatesAt =
    !result.activated && standby?.publishedAt !== undefined ? standby.publishedAt + lead : undefined;
  const summary = {
    immediate,
    ...(result.activated ? { activatedKid: result.activated.kid } : {}),
    activeKid: snapshot.state.activeKid,
    ...(standby?.kid ? { pendingKid: standby.kid } : {}),
    ...(activatesAt === undefined ? {} : { pendingActivatesAt: iso(Math.max(activatesAt, now)) }),
    registryVersion: snapshot.state.registryVersion,
    warnings: result.warnings,
  };
  const text = result.activated
    ? `activated ${result.activated.kid}` +
      (standby?.kid ? `; next standby ${standby.kid}` : '; the next standby is being created')
    : standby?.publishedAt !== undefined
      ? `rotation requested: ${standby.kid} activates at ${summary.pendingActivatesAt}`
      : `rotation requested: the standby ${standby?.kid ?? ''} activates once it has been published ` +
        `for ${formatDuration(lead)} (prepublishLead)`;
  return { action: 'rotate', result: summary, text: text.replace(/ {2,}/g, ' '), warnings };
}

/** `revoke` (design §3, Emergency). */
export async function revokeAction(
  deps: OperationDeps,
  kid: string,
  change: ChangeContext,
  now: number,
): Promise<OperatorOutcome> {
  const result = await revokeKey(deps, kid, change, now);
  const state = (await deps.registry.readState()).activeKid;
  const summary = {
    kid: result.kid,
    previousStatus: result.previousStatus,
    alreadyRevoked: result.alreadyRevoked,
    ...(result.promoted ? { promotedKid: result.promoted.kid } : {}),
    ...(result.awaitingPublication?.kid ? { awaitingPublicationKid: result.awaitingPublication.kid } : {}),
    ...(state === undefined ? {} : { activeKid: state }),
    warnings: result.warnings,
  };
  const text = result.alreadyRevoked
    ? `${kid} was already revoked (its revocation and vault state are ensured)`
    : `revoked ${kid} (was ${result.previousStatus})` +
      (result.promoted ? `; ${result.promoted.kid} is ACTIVE now` : '') +
      (result.awaitingPublication
        ? `; no key is ACTIVE until ${result.awaitingPublication.kid ?? 'the new standby'} is published`
        : '');
  return { action: 'revoke', result: summary, text, warnings: result.warnings };
}

export type PublishActionDeps = PublishDeps & {
  /** When known, the discovery documents are republished too. */
  readonly issuer?: string;
};

/** `publish`: render the JWKS from the registry and publish it if it changed. */
export async function publishAction(
  deps: PublishActionDeps,
  force: boolean,
  now: number,
): Promise<OperatorOutcome & { readonly published: PublishResult }> {
  const r = await publishJwks(deps, now, { force });
  const discovery = deps.issuer ? await publishDiscovery({ ...deps, issuer: deps.issuer }) : undefined;
  const summary = {
    written: r.written,
    ...(r.skipped ? { skipped: r.skipped } : {}),
    invalidated: r.invalidated,
    registryVersion: r.registryVersion,
    sha256: r.sha256,
    kids: r.kids,
    ...(discovery ? { discoveryWritten: discovery.written } : {}),
    // Records the vault does not back, left out (design §11; runbook "UNVERIFIED").
    ...(r.unverified.length > 0 ? { unverified: r.unverified } : {}),
  };
  const left = r.unverified.map(
    (u) => `\nleft out (vault does not back it): ${u.kid ?? u.keyRef} ${u.failure}`,
  );
  const what = r.written
    ? 'wrote a new JWKS and invalidated the CDN'
    : r.skipped === 'stored-newer'
      ? 'did not write: the stored JWKS is from a newer registry version (after a restore: --force)'
      : r.skipped === 'withdrawn'
        ? 'this region is outside the serving set (promote-region --exclude): its JWKS is withdrawn'
        : `JWKS unchanged, nothing written${r.invalidated ? ' (repeated the pending invalidation)' : ''}`;
  const text = `${what}\nregistry version ${r.registryVersion}\nsha256 ${r.sha256}\nkids ${r.kids.join(', ') || '(none)'}${left.join('')}`;
  return { action: 'publish', result: summary, text, warnings: [], published: r };
}

/** `promote-region` (ADR 0008): this region becomes the registry's one writer, with a new epoch. */
export async function promoteAction(
  deps: OperationDeps & { readonly regions?: RegionConfig },
  region: string,
  change: ChangeContext,
  now: number,
  exclude: readonly string[] = [],
): Promise<OperatorOutcome> {
  if (!deps.regions) throw new InvalidArgumentError('promote-region: this deployment has a single region');
  const regions = deps.regions;
  const r = await promoteRegion(
    {
      registry: deps.registry,
      regions,
      vault: deps.vault,
      deletionWindowDays: deps.policy.kmsDeletionWindowDays,
    },
    region,
    change,
    now,
    exclude,
  );
  const text =
    `${r.region} is the primary region now (epoch ${r.epoch}, was ${r.previousPrimary}); ` +
    `${r.previousPrimary}'s rotate function stops writing as soon as the promotion reaches its replica; ` +
    `activations wait for publication in ${r.servingRegions.join(', ')}`;
  return { action: 'promote-region', result: { ...r }, text, warnings: [] };
}

/**
 * Only the primary region commits lifecycle changes (ADR 0008): anywhere else a rotate or revoke is
 * refused with NOT_PRIMARY, naming where to ask instead. Single-region deployments pass.
 */
export async function primaryOnly(
  deps: { readonly registry: OperationDeps['registry']; readonly regions?: RegionConfig },
  action: string,
): Promise<void> {
  if (!deps.regions) return;
  const role = writerRole(await deps.registry.read(), deps.regions);
  if (role.role === 'primary') return;
  throw new NotPrimaryRegionError(
    role.primaryRegion,
    `${deps.regions.region} is not the primary region; run ${action} against ${role.primaryRegion}'s stack ` +
      `(or promote-region ${deps.regions.region} if ${role.primaryRegion} is lost)`,
  );
}

/** Run `request` with the deps of the rotate function (rotate, revoke) or the publisher (publish). */
export function runOperatorRequest(
  deps: OperationDeps & PublishActionDeps & { readonly regions?: RegionConfig },
  request: OperatorRequest,
  change: ChangeContext,
  now: number,
): Promise<OperatorOutcome> {
  switch (request.action) {
    case 'rotate':
      return primaryOnly(deps, request.action).then(() =>
        rotateAction(deps, request.immediate === true, change, now),
      );
    case 'revoke':
      return primaryOnly(deps, request.action).then(() => revokeAction(deps, request.kid, change, now));
    case 'publish':
      return publishAction(deps, request.force === true, now);
    case 'promote-region':
      return promoteAction(deps, request.region, change, now, request.exclude);
  }
}
