/**
 * Losing a region for good and re-admitting it (ADR 0008): after `promote-region <r> --exclude <lost>`
 * the vault is asked to reach the serving regions only, so rotation goes on without the lost one; the
 * promotion that re-admits it first gives it a copy of every key still served and retires the copies
 * the registry retired meanwhile. Local vaults on per-region directories stand in for KMS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKeyVault } from '../../src/adapters/local/key-vault.ts';
import { parsePolicy } from '../../src/core/policy.ts';
import type { RegionConfig } from '../../src/core/regions.ts';
import type { Policy } from '../../src/core/types.ts';
import { JwksError } from '../../src/errors.ts';
import { promoteAction } from '../../src/operator/run.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { COMPRESSED_POLICY, T0 } from '../support/fixtures.ts';
import { MemoryCdn, MemoryKeyVault, MemoryObjectStore, MemoryRegistry } from '../support/memory.ts';

const A = 'eu-west-1';
const B = 'us-east-1';
const REGIONS = [A, B];
const policy: Policy = parsePolicy(COMPRESSED_POLICY, { multiRegion: true }).policy;
const change = { changedBy: 'cli:ops', reason: 'drill' };

describe('a region excluded after its loss, then re-admitted', () => {
  let dir: string;
  let registry: MemoryRegistry;
  const vaultOf = (region: string) =>
    new LocalKeyVault({
      dir: join(dir, region),
      deploymentName: 'test',
      replicas: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, dir: join(dir, r) })),
      clock: () => now,
    });
  let now = T0;
  const tick = () => {
    now += 1;
    return now;
  };
  /** The vault keys that existed when A was lost. */
  let before: Set<string>;
  const regionsOf = (region: string): RegionConfig => ({ region, regions: REGIONS });
  const depsOf = (region: string) => ({
    registry,
    vault: vaultOf(region),
    store: new MemoryObjectStore(),
    cdn: new MemoryCdn(),
    policy,
    regions: regionsOf(region),
  });
  /** Run B as primary (it publishes, it reconciles) until `until` holds. */
  const runB = async (until: () => boolean, steps = 400) => {
    const b = depsOf(B);
    for (let i = 0; i < steps && !until(); i++) {
      now += policy.prepublishLead / 8;
      await publishJwks(b, now);
      await reconcile(b, now);
    }
  };
  const stateOfKey = async (region: string, vaultKeyId: string) =>
    (await vaultOf(region).describeKey(vaultKeyId)).kind;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jwks-readmit-'));
    registry = new MemoryRegistry();
    now = T0;
    // A is the first primary: a key, replicated into B, then A is lost and B takes over without it.
    const a = depsOf(A);
    for (let i = 0; i < 40 && !registry.snapshot().state.activeKid; i++) {
      now += policy.prepublishLead / 8;
      await publishJwks(a, now);
      await publishJwks(depsOf(B), now);
      await reconcile(a, now);
    }
    await promoteAction(depsOf(B), B, change, tick(), [A]);
    before = new Set(registry.snapshot().keys.flatMap((k) => (k.vaultKeyId ? [k.vaultKeyId] : [])));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates and retires keys without touching the excluded region’s vault', async () => {
    const first = registry.snapshot().state.activeKid;
    await runB(() => {
      const s = registry.snapshot();
      return s.state.activeKid !== first && s.keys.some((k) => k.disabledAt !== undefined);
    });
    const s = registry.snapshot();
    expect(s.state.activeKid).not.toBe(first);
    const created = s.keys.flatMap((k) => (k.vaultKeyId && !before.has(k.vaultKeyId) ? [k.vaultKeyId] : []));
    expect(created.length).toBeGreaterThan(0);
    for (const id of created) {
      expect(await stateOfKey(B, id)).toBe('present');
      expect(await stateOfKey(A, id)).toBe('absent');
    }
    // The key A knew, retired by B: disabled in B, A's copy left as it was (A was unreachable).
  });

  it('re-admitting the region copies every served key into it and retires what the registry retired', async () => {
    const first = registry.snapshot().state.activeKid;
    await runB(() => {
      const s = registry.snapshot();
      return s.state.activeKid !== first && s.keys.some((k) => k.disabledAt !== undefined);
    });
    const out = await promoteAction(depsOf(B), B, change, tick());
    expect(out.result).toMatchObject({ region: B, servingRegions: [A, B] });
    for (const k of registry.snapshot().keys) {
      if (!k.vaultKeyId || !['PENDING', 'ACTIVE', 'RETIRED'].includes(k.status)) continue;
      const facts = await vaultOf(A).describeKey(k.vaultKeyId);
      expect(facts.kind).toBe('present');
      // A disabled key's copy gives no public key, as KMS; a live one does, with the same kid material.
      expect('publicKey' in facts).toBe(k.disabledAt === undefined);
    }
  });

  it('withdraws the excluded region’s JWKS so the edge fails over, and publishes it again once re-admitted', async () => {
    const a = { ...depsOf(A), store: new MemoryObjectStore(), cdn: new MemoryCdn() };
    await a.store.put({
      key: '.well-known/jwks.json',
      body: new TextEncoder().encode('{"keys":[]}'),
      contentType: 'application/json',
    });
    const marksOfA = () => registry.snapshot().publications?.filter((p) => p.region === A).length ?? 0;
    const marksBefore = marksOfA();
    const out = await publishJwks(a, tick());
    expect(out).toMatchObject({ written: false, skipped: 'withdrawn', invalidated: true, marked: [] });
    expect(a.store.text('.well-known/jwks.json')).toBeUndefined();
    expect(a.cdn.invalidations.flatMap((i) => i.paths)).toEqual(['/.well-known/jwks.json']);
    // Nothing marked for A, nothing re-invalidated when there is nothing left to withdraw.
    expect(marksOfA()).toBe(marksBefore);
    expect((await publishJwks(a, tick())).invalidated).toBe(false);

    await promoteAction(depsOf(B), B, change, tick());
    const back = await publishJwks(a, tick());
    expect(back.written).toBe(true);
    expect(
      JSON.parse(a.store.text('.well-known/jwks.json') ?? '{}').keys.map((k: { kid: string }) => k.kid),
    ).toContain(registry.snapshot().state.activeKid);
  });

  it('refuses the re-admission (and writes no promotion) when the region’s vault cannot be reached', async () => {
    const vault = new MemoryKeyVault();
    const key = await vault.createKey({ keyRef: registry.snapshot().keys[0]?.keyRef ?? 'r', alg: 'ES256' });
    const snap = registry.snapshot();
    const version = snap.state.registryVersion;
    registry.restore({
      ...snap,
      keys: snap.keys.map((k, i) => (i === 0 ? { ...k, vaultKeyId: key.vaultKeyId } : k)),
    });
    vault.faults.crash('vault.ensureReplicas');
    const err = await promoteAction({ ...depsOf(B), vault }, B, change, tick()).catch((e) => e);
    expect(err).toBeInstanceOf(JwksError);
    expect(registry.snapshot().state.registryVersion).toBe(version);
    expect(registry.snapshot().promotions?.every((p) => p.servingRegions?.includes(A) !== true)).toBe(true);
  });
});
