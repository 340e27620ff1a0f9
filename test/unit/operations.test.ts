import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import type { KeyRecord } from '../../src/core/types.ts';
import { hasCode } from '../../src/errors.ts';
import { requestRotation, revokeKey } from '../../src/operations.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { listRevokedKids } from '../../src/revocations.ts';
import { DAY, MINUTE, policyOf, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault } from '../support/memory.ts';
import { makeWorld, type World } from '../support/world.ts';

const policy = policyOf({ algorithm: 'ES256' });
const operator = { changedBy: 'cli:alice', reason: 'key material leaked' };
let w: World;

beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 8));
beforeEach(async () => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  w = makeWorld(policy);
  // Bootstrap: first key ACTIVE, standby PENDING and published.
  for (let i = 0; i < 2; i++) {
    await reconcile(w.ops, T0);
    await publishJwks(w.publish, T0);
  }
  vi.setSystemTime(T0 + 10 * DAY);
});

const keys = () => w.registry.snapshot().keys;
const byStatus = (status: KeyRecord['status']) => keys().filter((k) => k.status === status);
const only = (status: KeyRecord['status']) => {
  const found = byStatus(status);
  expect(found).toHaveLength(1);
  return found[0] as KeyRecord;
};

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('revokeKey', () => {
  it('lists the kid first, revokes the ACTIVE key, promotes the standby and creates a new one', async () => {
    const active = only('ACTIVE');
    const standby = only('PENDING');
    const calls = w.faults.calls.length;
    const result = await revokeKey(w.ops, active.kid as string, operator, Date.now());

    const after = w.faults.calls.slice(calls);
    expect(after.indexOf('store.put')).toBeLessThan(after.indexOf('registry.commit'));
    expect(await listRevokedKids(w.store)).toEqual(new Set([active.kid]));
    expect(result).toMatchObject({
      previousStatus: 'ACTIVE',
      alreadyRevoked: false,
      promoted: { keyRef: standby.keyRef, kid: standby.kid },
    });
    expect(keys().find((k) => k.keyRef === active.keyRef)).toMatchObject({
      status: 'REVOKED',
      revokedAt: Date.now(),
      disabledAt: Date.now(),
      deletionScheduledAt: Date.now(),
      reason: operator.reason,
      changedBy: operator.changedBy,
    });
    expect(only('ACTIVE').keyRef).toBe(standby.keyRef);
    expect(only('PENDING').keyRef).not.toBe(standby.keyRef);
    expect(w.registry.snapshot().state).toMatchObject({
      activeKeyRef: standby.keyRef,
      activeKid: standby.kid,
      pendingKeyRef: only('PENDING').keyRef,
    });
    expect(w.vault.stateOf(active.vaultKeyId as string)).toBe('PendingDeletion');
    expect(
      hasCode(
        await errorOf(w.vault.sign(active.vaultKeyId as string, 'ES256', new Uint8Array([1]))),
        'KEY_UNUSABLE',
      ),
    ).toBe(true);
    // The standby had been published 10 days earlier (≥ 7d lead): nothing to warn about.
    expect(result.warnings).toEqual([]);
  });

  it('keeps the revoked kid out of the next published set', async () => {
    const active = only('ACTIVE');
    await revokeKey(w.ops, active.kid as string, operator, Date.now());
    await publishJwks(w.publish, Date.now());
    expect(w.store.text(OBJECT_KEYS.JWKS)).not.toContain(active.kid as string);
  });

  it('revokes the standby and replaces it, leaving the ACTIVE key alone', async () => {
    const active = only('ACTIVE');
    const standby = only('PENDING');
    const result = await revokeKey(w.ops, standby.kid as string, operator, Date.now());
    expect(result.promoted).toBeUndefined();
    expect(only('ACTIVE').keyRef).toBe(active.keyRef);
    expect(only('PENDING').keyRef).not.toBe(standby.keyRef);
  });

  it('warns with the exact publication age, in its result and its log, when the promoted key was published less than the lead ago', async () => {
    await requestRotation(w.ops, { immediate: false }, operator, Date.now()); // standby published 10d ago activates
    await publishJwks(w.publish, Date.now());
    const log = recordingLog();
    const age = 2 * 60 * MINUTE + 3 * MINUTE + 4005; // 2h3m4s5ms
    const result = await revokeKey(
      { ...w.ops, log },
      only('ACTIVE').kid as string,
      operator,
      Date.now() + age,
    );
    const promoted = result.promoted;
    expect(promoted).toMatchObject({ publishedAgeMs: age, leadMet: false });
    expect(result.warnings).toEqual([
      expect.stringContaining(`promoted ${promoted?.kid}, published 2h3m4s5ms ago`),
    ]);
    expect(log.warns).toContain('emergency revoke promoted a key before its prepublish lead');
  });

  it('succeeds without a second entry or commit when the kid is already revoked', async () => {
    const kid = only('PENDING').kid as string;
    await revokeKey(w.ops, kid, operator, Date.now());
    const commits = w.registry.commits.length;
    const puts = w.store.puts.length;
    const again = await revokeKey(w.ops, kid, { changedBy: 'cli:bob', reason: 'again' }, Date.now() + 1);
    expect(again).toMatchObject({ alreadyRevoked: true, previousStatus: 'REVOKED' });
    expect(w.registry.commits).toHaveLength(commits);
    expect(w.store.puts).toHaveLength(puts);
  });

  it('throws KEY_NOT_FOUND for a kid the registry does not know', async () => {
    expect(
      hasCode(await errorOf(revokeKey(w.ops, 'bm90LWEta2lk', operator, Date.now())), 'KEY_NOT_FOUND'),
    ).toBe(true);
    expect(await listRevokedKids(w.store)).toEqual(new Set());
  });

  it('retries its commit when the registry changed under it', async () => {
    const standby = only('PENDING');
    const commit = w.registry.commit.bind(w.registry);
    let raced = false;
    vi.spyOn(w.registry, 'commit').mockImplementation(async (c) => {
      if (!raced) {
        raced = true;
        // Another writer commits first (one that does not read the revocation list: it activates the kid).
        await reconcile({ ...w.ops, store: undefined }, Date.now() + policy.rotationPeriod);
      }
      return commit(c);
    });
    const result = await revokeKey(w.ops, standby.kid as string, operator, Date.now());
    expect(result).toMatchObject({ previousStatus: 'ACTIVE', alreadyRevoked: false }); // the racer had activated it
    expect(keys().find((k) => k.keyRef === standby.keyRef)?.status).toBe('REVOKED');
    // The racer's new standby was never published: nothing is promoted until it is.
    expect(byStatus('ACTIVE')).toEqual([]);
    expect(result.awaitingPublication?.keyRef).toBe(only('PENDING').keyRef);
  });

  it('promotes no unpublished standby: no key is ACTIVE until the publisher has published it, then it activates at once', async () => {
    const log = recordingLog();
    const deps = { ...w.ops, log };
    const standby = only('PENDING');
    await revokeKey(deps, standby.kid as string, operator, Date.now()); // its replacement is not published
    const fresh = only('PENDING');
    expect(fresh.publishedAt).toBeUndefined();

    const active = only('ACTIVE');
    const result = await revokeKey(deps, active.kid as string, operator, Date.now() + MINUTE);
    expect(result.promoted).toBeUndefined();
    expect(result.awaitingPublication).toEqual({ keyRef: fresh.keyRef, kid: fresh.kid });
    expect(byStatus('ACTIVE')).toEqual([]);
    expect(w.registry.snapshot().state).toMatchObject({ pendingKeyRef: fresh.keyRef, pendingKid: fresh.kid });
    expect(result.warnings.join('\n')).toContain(fresh.kid as string);
    expect(log.warns).toContain('emergency revoke left no ACTIVE key');

    // A reconcile before publication changes nothing; right after it, the standby activates (lead waived).
    expect((await reconcile(w.ops, Date.now() + 2 * MINUTE)).actions).toEqual([]);
    await publishJwks(w.publish, Date.now() + 3 * MINUTE);
    const after = await reconcile(w.ops, Date.now() + 3 * MINUTE + 1500);
    expect(after.actions.map((a) => a.type)).toEqual(['activate', 'createKey']);
    expect(only('ACTIVE')).toMatchObject({ keyRef: fresh.keyRef, publishedAt: Date.now() + 3 * MINUTE });
    expect(after.warnings).toEqual([
      expect.stringContaining(`activated ${fresh.kid}, published 1s500ms ago`),
    ]);
  });
});

describe('requestRotation', () => {
  it('ends the period now and activates a standby whose lead is satisfied in the same run', async () => {
    const active = only('ACTIVE');
    const standby = only('PENDING');
    const result = await requestRotation(w.ops, {}, operator, Date.now());
    expect(result).toMatchObject({
      immediate: false,
      activated: { keyRef: standby.keyRef },
      verifierCacheWarning: false,
    });
    expect(keys().find((k) => k.keyRef === active.keyRef)).toMatchObject({
      status: 'RETIRED',
      periodEndsAt: Date.now(),
    });
    expect(only('PENDING').keyRef).not.toBe(standby.keyRef);
  });

  it('leaves the standby waiting for its lead, then activates it without another request', async () => {
    await requestRotation(w.ops, { immediate: true }, operator, Date.now());
    await publishJwks(w.publish, Date.now());
    const standby = only('PENDING');
    const result = await requestRotation(w.ops, {}, operator, Date.now() + DAY);
    expect(result.activated).toBeUndefined();
    expect(result.warnings).toHaveLength(1);
    const later = await reconcile(w.ops, (standby.publishedAt as number) + policy.prepublishLead);
    expect(later.actions.map((a) => a.type)).toContain('activate');
    expect(only('ACTIVE').keyRef).toBe(standby.keyRef);
  });

  it('activates a published standby at once when immediate, and warns with its publication age when its lead was not satisfied', async () => {
    await requestRotation(w.ops, { immediate: true }, operator, Date.now()); // lead satisfied (10d)
    await publishJwks(w.publish, Date.now());
    const fresh = only('PENDING');
    const result = await requestRotation(w.ops, { immediate: true }, operator, Date.now() + MINUTE);
    expect(result).toMatchObject({
      immediate: true,
      activated: { keyRef: fresh.keyRef },
      verifierCacheWarning: true,
    });
    expect(result.warnings).toEqual([expect.stringContaining(`activated ${fresh.kid}, published 1m ago`)]);
    expect(only('ACTIVE').keyRef).toBe(fresh.keyRef);
    expect(byStatus('PENDING')).toHaveLength(1);
  });

  it('refuses with KEY_NOT_PUBLISHED to activate a standby no JWKS has contained, changing nothing', async () => {
    await requestRotation(w.ops, { immediate: true }, operator, Date.now());
    const fresh = only('PENDING'); // created just now, not published
    const active = only('ACTIVE');
    const commits = w.registry.commits.length;
    const err = await errorOf(requestRotation(w.ops, { immediate: true }, operator, Date.now() + MINUTE));
    expect(hasCode(err, 'KEY_NOT_PUBLISHED')).toBe(true);
    expect(w.registry.commits).toHaveLength(commits);
    expect(only('ACTIVE').keyRef).toBe(active.keyRef);
    expect(only('PENDING').keyRef).toBe(fresh.keyRef);
  });

  it('creates a standby first when there is none, and activates it only once it is published', async () => {
    // The revoke's final reconcile dies before it can create the replacement standby.
    w.faults.crash('vault.listKeys', 'before');
    await errorOf(revokeKey(w.ops, only('PENDING').kid as string, operator, Date.now()));
    expect(byStatus('PENDING')).toEqual([]);
    const previous = only('ACTIVE');
    const refused = await errorOf(requestRotation(w.ops, { immediate: true }, operator, Date.now()));
    expect(hasCode(refused, 'KEY_NOT_PUBLISHED')).toBe(true);
    expect(only('ACTIVE').keyRef).toBe(previous.keyRef);
    await publishJwks(w.publish, Date.now());
    const result = await requestRotation(w.ops, { immediate: true }, operator, Date.now());
    expect(result.activated?.keyRef).toBe(only('ACTIVE').keyRef);
    expect(only('ACTIVE').keyRef).not.toBe(previous.keyRef);
    expect(result.verifierCacheWarning).toBe(true);
    expect(byStatus('PENDING')).toHaveLength(1);
  });

  it('stamps each commit with the control-plane clock read at commit time, not the time the caller passed', async () => {
    const controlPlane = { now: Date.now() + 3 * MINUTE };
    const deps = { ...w.ops, clock: () => controlPlane.now };
    const createKey = w.vault.createKey.bind(w.vault);
    vi.spyOn(w.vault, 'createKey').mockImplementation(async (input) => {
      controlPlane.now += 30_000; // a slow CreateKey between the activation and what follows it
      return createKey(input);
    });
    const standby = only('PENDING');
    const previous = only('ACTIVE');
    const callerBelieves = Date.now() + DAY; // a workstation one day fast
    await requestRotation(deps, {}, operator, callerBelieves);
    const start = Date.now() + 3 * MINUTE;
    expect(keys().find((k) => k.keyRef === previous.keyRef)).toMatchObject({
      periodEndsAt: start,
      retiredAt: start,
    });
    expect(only('ACTIVE')).toMatchObject({ keyRef: standby.keyRef, activatedAt: start });
    expect(only('PENDING').createdAt).toBe(start);
    expect(w.registry.snapshot().state.updatedAt).toBe(start + 30_000);
  });
});

function recordingLog() {
  const warns: string[] = [];
  return { warns, info() {}, error() {}, warn: (message: string) => void warns.push(message) };
}
