import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { appendRevocation } from '../../src/revocations.ts';
import { DAY, HOUR, MINUTE, policyOf, T0 } from '../support/fixtures.ts';
import { MemoryKeyVault, SimulatedCrash } from '../support/memory.ts';
import { makeWorld, type World } from '../support/world.ts';

const policy = policyOf({ algorithm: 'ES256' });
let w: World;

beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 8));
beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
  w = makeWorld(policy);
});

const keys = () => w.registry.snapshot().keys;
const statuses = () => keys().map((k) => [k.keyRef, k.status]);
const crashes = async (p: Promise<unknown>) => expect(p).rejects.toBeInstanceOf(SimulatedCrash);

/** Empty registry → first key ACTIVE, standby PENDING (and published). */
async function bootstrap(): Promise<void> {
  await reconcile(w.ops, Date.now());
  await publishJwks(w.publish, Date.now());
  await reconcile(w.ops, Date.now());
  await publishJwks(w.publish, Date.now());
}

describe('reconcile', () => {
  it('records the intent before creating the vault key, then completes it as PENDING', async () => {
    const result = await reconcile(w.ops, Date.now());
    expect(result.actions.map((a) => a.type)).toEqual(['createKey']);
    const calls = w.faults.calls.filter(
      (c) => !['registry.read', 'vault.listKeys', 'store.list'].includes(c),
    );
    expect(calls).toEqual([
      'registry.commit',
      'vault.createKey',
      'vault.ensureReplicas',
      'vault.getPublicJwk',
      'registry.commit',
    ]);
    const [key] = keys();
    expect(key).toMatchObject({
      keyRef: 'ref-001',
      status: 'PENDING',
      vaultKeyId: result.actions[0]?.vaultKeyId,
    });
    expect(key?.publicJwk?.kid).toBe(key?.kid);
    expect(w.vault.all()).toEqual([expect.objectContaining({ keyRef: 'ref-001', state: 'Enabled' })]);
    expect(w.registry.snapshot().state).toMatchObject({ registryVersion: 2, pendingKeyRef: 'ref-001' });
  });

  it('changes nothing when run again at the same instant', async () => {
    await reconcile(w.ops, Date.now());
    const version = w.registry.snapshot().state.registryVersion;
    expect((await reconcile(w.ops, Date.now())).actions).toEqual([]);
    expect(w.registry.snapshot().state.registryVersion).toBe(version);
  });

  it('activates the first key once published and creates its standby in the same run', async () => {
    await bootstrap();
    expect(statuses()).toEqual([
      ['ref-001', 'ACTIVE'],
      ['ref-002', 'PENDING'],
    ]);
    const state = w.registry.snapshot().state;
    const active = keys()[0];
    expect(state).toMatchObject({
      activeKeyRef: 'ref-001',
      activeKid: active?.kid,
      activeAlg: 'ES256',
      activeVaultKeyId: active?.vaultKeyId,
      pendingKeyRef: 'ref-002',
      bootstrappedAt: T0,
    });
  });

  it('completes an intent whose key was created before a crash, without creating another key', async () => {
    w.faults.crash('vault.createKey', 'after');
    await crashes(reconcile(w.ops, Date.now()));
    expect(statuses()).toEqual([['ref-001', 'CREATING']]);
    const result = await reconcile(w.ops, Date.now());
    expect(result.actions.map((a) => a.type)).toEqual(['completeIntent']);
    expect(statuses()).toEqual([['ref-001', 'PENDING']]);
    expect(w.vault.all()).toHaveLength(1);
  });

  it('waits for, then abandons, an intent whose key never appeared, and creates a fresh standby', async () => {
    w.faults.crash('vault.createKey', 'before');
    await crashes(reconcile(w.ops, Date.now()));
    expect((await reconcile(w.ops, Date.now() + policy.intentTimeout - 1)).actions).toEqual([]);
    const result = await reconcile(w.ops, Date.now() + policy.intentTimeout);
    expect(result.actions.map((a) => a.type)).toEqual(['abandonIntent', 'createKey']);
    expect(statuses()).toEqual([
      ['ref-001', 'ABANDONED'],
      ['ref-002', 'PENDING'],
    ]);
  });

  it('lets only one of two concurrent reconcilers create the standby', async () => {
    const [a, b] = await Promise.all([reconcile(w.ops, Date.now()), reconcile(w.ops, Date.now())]);
    expect(a.conflicts + b.conflicts).toBe(1);
    expect(keys()).toHaveLength(1);
    expect(w.vault.all()).toHaveLength(1);
  });

  it('reports unknown tagged keys and never touches them', async () => {
    const stray = w.vault.addForeignKey({ keyRef: 'not-ours' });
    const untagged = w.vault.addForeignKey();
    const result = await reconcile(w.ops, Date.now());
    expect(result.unknownVaultKeys).toEqual([
      { vaultKeyId: stray, keyRef: 'not-ours', problem: 'unknown-key-ref' },
      { vaultKeyId: untagged, keyRef: undefined, problem: 'no-key-ref' },
    ]);
    await reconcile(w.ops, Date.now() + 400 * DAY);
    expect(w.vault.stateOf(stray)).toBe('Enabled');
    expect(w.vault.stateOf(untagged)).toBe('Enabled');
  });

  it('rotates, disables, expires and deletes over a full period', async () => {
    await bootstrap();
    const first = keys()[0];
    const at = T0 + policy.rotationPeriod;
    const rotation = await reconcile(w.ops, at);
    expect(rotation.actions.map((a) => a.type)).toEqual(['activate', 'createKey']);
    expect(keys().find((k) => k.keyRef === first?.keyRef)).toMatchObject({
      status: 'RETIRED',
      retiredAt: at,
    });
    expect(w.vault.stateOf(first?.vaultKeyId as string)).toBe('Enabled');

    await reconcile(w.ops, at + policy.signerCacheTtl + policy.maxReplicationLag);
    expect(w.vault.stateOf(first?.vaultKeyId as string)).toBe('Disabled');

    const end = await reconcile(w.ops, at + policy.retention);
    expect(end.actions.map((a) => a.type)).toEqual(['expire', 'scheduleDeletion']);
    expect(keys().find((k) => k.keyRef === first?.keyRef)).toMatchObject({
      status: 'EXPIRED',
      deletionScheduledAt: at + policy.retention,
    });
    expect(w.vault.stateOf(first?.vaultKeyId as string)).toBe('PendingDeletion');
    expect((await reconcile(w.ops, at + policy.retention + HOUR)).actions).toEqual([]);
  });

  it('records the disable mark when the key is already pending deletion', async () => {
    await bootstrap();
    await reconcile(w.ops, T0 + policy.rotationPeriod);
    const retired = keys().find((k) => k.status === 'RETIRED');
    await w.vault.scheduleDeletion(retired?.vaultKeyId as string, 7);
    const result = await reconcile(w.ops, T0 + policy.rotationPeriod + MINUTE);
    expect(result.actions.map((a) => a.type)).toEqual(['disableKey']);
    expect(keys().find((k) => k.keyRef === retired?.keyRef)?.disabledAt).toBe(
      T0 + policy.rotationPeriod + MINUTE,
    );
  });

  it('stamps each commit with its clock read at commit time, not at the start of a long run', async () => {
    await bootstrap();
    const period = policy.rotationPeriod;
    await reconcile(w.ops, T0 + period); // key 1 RETIRED, key 2 ACTIVE, key 3 created
    await publishJwks(w.publish, T0 + period);
    await reconcile(w.ops, T0 + period + MINUTE); // key 1 disabled
    const retired = keys().find((k) => k.status === 'RETIRED');
    let clock = T0 + 2 * period;
    const createKey = w.vault.createKey.bind(w.vault);
    vi.spyOn(w.vault, 'createKey').mockImplementation(async (input) => {
      clock += 30_000; // CreateKey takes 30 s, between the activation and the expiry in the same run
      return createKey(input);
    });
    const result = await reconcile({ ...w.ops, clock: () => clock }, 0);
    expect(result.actions.map((a) => a.type)).toEqual([
      'activate',
      'createKey',
      'expire',
      'scheduleDeletion',
    ]);
    const byRef = (ref?: string) => keys().find((k) => k.keyRef === ref);
    expect(byRef(result.actions[0]?.keyRef)?.activatedAt).toBe(T0 + 2 * period);
    expect(byRef(retired?.keyRef)).toMatchObject({
      status: 'EXPIRED',
      expiredAt: T0 + 2 * period + 30_000,
      deletionScheduledAt: T0 + 2 * period + 30_000,
    });
  });

  it('revokes a listed ACTIVE key without promoting an unpublished standby, and warns with the exact age when it activates it after publication', async () => {
    await bootstrap();
    const active = keys().find((k) => k.status === 'ACTIVE');
    const standby = keys().find((k) => k.status === 'PENDING');
    // The standby is replaced by one nobody has published yet.
    await appendRevocation(w.store, {
      kid: standby?.kid as string,
      revokedAt: T0,
      reason: 'x',
      changedBy: 'cli:ops',
    });
    await reconcile(w.ops, T0 + MINUTE);
    const fresh = keys().find((k) => k.status === 'PENDING');
    expect(fresh?.publishedAt).toBeUndefined();
    await appendRevocation(w.store, {
      kid: active?.kid as string,
      revokedAt: T0,
      reason: 'leak',
      changedBy: 'cli:ops',
    });
    const result = await reconcile(w.ops, T0 + 2 * MINUTE);
    expect(result.actions.map((a) => a.type)).toEqual(['revoke', 'disableKey', 'scheduleDeletion']);
    expect(w.registry.snapshot().state).toMatchObject({ pendingKid: fresh?.kid });
    expect(w.registry.snapshot().state.activeKid).toBeUndefined();
    await publishJwks(w.publish, T0 + 3 * MINUTE);
    const later = await reconcile(w.ops, T0 + 4 * MINUTE);
    expect(later.actions.map((a) => a.type)).toEqual(['activate', 'createKey']);
    expect(w.registry.snapshot().state.activeKid).toBe(fresh?.kid);
    expect(later.warnings).toEqual([expect.stringContaining(`activated ${fresh?.kid}, published 1m ago`)]);
  });

  it('finishes a revoke that died after listing the kid, when it can read the revocation list', async () => {
    await bootstrap();
    const active = keys().find((k) => k.status === 'ACTIVE');
    const standby = keys().find((k) => k.status === 'PENDING');
    await appendRevocation(w.store, {
      kid: active?.kid as string,
      revokedAt: T0,
      reason: 'leak',
      changedBy: 'cli:ops',
    });
    expect((await reconcile({ ...w.ops, store: undefined }, T0 + MINUTE)).actions).toEqual([]);
    const result = await reconcile(w.ops, T0 + MINUTE);
    expect(result.actions.map((a) => a.type)).toEqual([
      'revoke',
      'createKey',
      'disableKey',
      'scheduleDeletion',
    ]);
    expect(keys().find((k) => k.keyRef === active?.keyRef)?.status).toBe('REVOKED');
    expect(keys().find((k) => k.status === 'ACTIVE')?.keyRef).toBe(standby?.keyRef);
    expect(w.vault.stateOf(active?.vaultKeyId as string)).toBe('PendingDeletion');
  });

  it('records the operator and reason from the revocation list, not the scheduler, when it finishes a revoke', async () => {
    await bootstrap();
    const active = keys().find((k) => k.status === 'ACTIVE');
    await appendRevocation(w.store, {
      kid: active?.kid as string,
      revokedAt: T0,
      reason: 'leak',
      changedBy: 'cli:ops',
    });
    await reconcile(w.ops, T0 + MINUTE);
    const revokeCommit = w.registry.commits.find((c) =>
      c.keys.some((k) => k.record.keyRef === active?.keyRef && k.record.status === 'REVOKED'),
    );
    // The REVOKED transition (what the audit trail and the key.revoked event carry) names the operator;
    // the scheduler's own follow-ups (disable, schedule deletion) are stamped as the scheduler's.
    expect(revokeCommit?.change).toEqual({ changedBy: 'cli:ops', reason: 'leak' });
  });

  it('stamps changedBy and a reason on every record it writes', async () => {
    await reconcile(w.ops, Date.now(), { changedBy: 'cli:alice', reason: 'manual run' });
    expect(keys()[0]).toMatchObject({
      changedBy: 'cli:alice',
      reason: expect.stringMatching(/^manual run: /),
    });
  });
});
