import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { StatusView } from '../../src/cli/commands/status.ts';
import { publicJwkFromKey } from '../../src/core/jwk.ts';
import { HOUR, keyRecord, snapshotOf, T0 } from '../support/fixtures.ts';
import { bootstrap, json, type MemoryStack, memoryStack, run } from './harness.ts';

function stackWith(keys: Parameters<typeof snapshotOf>[0]) {
  const stack = memoryStack();
  stack.registry.restore(snapshotOf(keys, {}, 12));
  return stack;
}

const KEYS = [
  keyRecord('retired', 'RETIRED', {
    createdAt: T0,
    publishedAt: T0 + 1,
    activatedAt: T0 + 2,
    retiredAt: T0 + 3,
  }),
  keyRecord('revoked', 'REVOKED', { createdAt: T0 + HOUR, revokedAt: T0 + 5 * HOUR }),
  keyRecord('active', 'ACTIVE', {
    createdAt: T0 + 2 * HOUR,
    publishedAt: T0 + 3 * HOUR,
    activatedAt: T0 + 4 * HOUR,
  }),
  keyRecord('creating', 'CREATING', { createdAt: T0 + 6 * HOUR }),
];

describe('jwks status', () => {
  it('prints the registry version, active and pending kid and every key with ISO timestamps when --json', async () => {
    const stack = stackWith(KEYS);
    const snapshot = stack.registry.snapshot();
    const r = await run(['status', '--json'], stack);
    expect(r.code).toBe(0);
    const view = json<StatusView>(r);
    expect(view.registryVersion).toBe(snapshot.state.registryVersion);
    expect(view.activeKid).toBe(snapshot.keys.find((k) => k.status === 'ACTIVE')?.kid);
    // The standby is still CREATING: it has no kid yet, so there is no pendingKid.
    expect(view.pendingKid).toBeUndefined();
    expect(view.keys.map((k) => k.keyRef)).toEqual(['retired', 'revoked', 'active', 'creating']);
    for (const k of view.keys) {
      const record = snapshot.keys.find((s) => s.keyRef === k.keyRef);
      expect(k.kid).toBe(record?.kid);
      expect(k.status).toBe(record?.status);
      expect(k.alg).toBe(record?.alg);
      for (const field of [
        'createdAt',
        'publishedAt',
        'activatedAt',
        'retiredAt',
        'expiredAt',
        'revokedAt',
      ] as const) {
        const ms = record?.[field];
        expect(k[field]).toBe(ms === undefined ? undefined : new Date(ms).toISOString());
      }
    }
    expect(view.keys.find((k) => k.keyRef === 'creating')).not.toHaveProperty('kid');
  });

  it('names the pending kid once the standby has one', async () => {
    const stack = stackWith([
      KEYS[2] as (typeof KEYS)[number],
      keyRecord('standby', 'PENDING', { createdAt: T0 + 7 * HOUR }),
    ]);
    const view = json<StatusView>(await run(['status', '--json'], stack));
    expect(view.pendingKid).toBe(stack.registry.snapshot().keys.find((k) => k.keyRef === 'standby')?.kid);
  });

  it('prints a table with a row per key when not --json', async () => {
    const stack = stackWith(KEYS);
    const r = await run(['status'], stack);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[1]).toMatch(
      /^KID\s+STATUS\s+ALG\s+CREATED\s+PUBLISHED\s+ACTIVATED\s+RETIRED\s+EXPIRED\s+REVOKED\s+VAULT$/,
    );
    expect(lines).toHaveLength(2 + KEYS.length);
    for (const k of KEYS) expect(r.stdout).toContain(k.kid ?? `(keyRef ${k.keyRef})`);
  });

  it('reports an empty registry without failing when no key exists yet', async () => {
    const stack = memoryStack();
    const view = json<StatusView>(await run(['status', '--json'], stack));
    expect(view).toEqual({ registryVersion: 0, keys: [] });
  });

  it('exits 1 with a JSON error and no stack trace when the registry read fails', async () => {
    const stack = memoryStack();
    stack.registry.faults.crash('registry.read');
    const r = await run(['status', '--json'], stack);
    expect(r.code).toBe(1);
    expect(json<{ error: { code: string } }>(r).error.code).toBe('UNEXPECTED');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 without contacting the stack when given an argument', async () => {
    const stack = memoryStack();
    const r = await run(['status', 'extra'], stack);
    expect(r.code).toBe(2);
    expect(stack.loads).toEqual([]);
  });

  describe('vault proof (design §11)', () => {
    /** A bootstrapped stack plus a RETIRED record someone wrote into the table: a key no vault holds. */
    async function withForeignRecord() {
      const stack = memoryStack();
      await bootstrap(stack);
      const jwk = await publicJwkFromKey(
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
        'ES256',
      );
      const snap = stack.registry.snapshot();
      const foreign = keyRecord('foreign', 'RETIRED', { kid: jwk.kid, publicJwk: jwk, vaultKeyId: 'arn:x' });
      stack.registry.restore({ ...snap, keys: [...snap.keys, foreign] });
      return { stack, kid: jwk.kid };
    }

    it('reports a record the vault does not back as UNVERIFIED with the reason, and real keys as VERIFIED', async () => {
      const { stack } = await withForeignRecord();
      const view = json<StatusView>(await run(['status', '--json'], stack));
      const byRef = Object.fromEntries(view.keys.map((k) => [k.keyRef, [k.status, k.vault, k.vaultFailure]]));
      expect(byRef.foreign).toEqual(['RETIRED', 'UNVERIFIED', 'NOT_IN_VAULT']);
      const published = view.keys.filter((k) => k.keyRef !== 'foreign');
      expect(published.map((k) => k.vault)).toEqual(published.map(() => 'VERIFIED'));
    });

    it('says UNVERIFIED and why in the table', async () => {
      const { stack, kid } = await withForeignRecord();
      const r = await run(['status'], stack);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n').find((l) => l.startsWith(kid))).toMatch(/UNVERIFIED \(NOT_IN_VAULT\)$/);
    });

    it('jwks publish leaves the record out and names it, in JSON and in text', async () => {
      const { stack, kid } = await withForeignRecord();
      const r = await run(['publish', '--json'], stack);
      expect(r.code).toBe(0);
      const out = json<{ kids: string[]; unverified: Array<{ kid: string; failure: string }> }>(r);
      expect(out.kids).not.toContain(kid);
      expect(out.unverified).toEqual([expect.objectContaining({ kid, failure: 'NOT_IN_VAULT' })]);
      const text = await run(['publish'], stack);
      expect(text.stdout).toContain(`left out (vault does not back it): ${kid} NOT_IN_VAULT`);
    });

    it('still shows the registry, marked UNCHECKED, when the vault cannot be asked', async () => {
      const { stack } = await withForeignRecord();
      stack.vault.faults.crash('vault.describeKey', 'before', 10);
      const r = await run(['status', '--json'], stack);
      expect(r.code).toBe(0);
      const view = json<StatusView>(r);
      expect(view.vaultError).toMatch(/vault.describeKey/);
      expect(new Set(view.keys.map((k) => k.vault))).toEqual(new Set(['UNCHECKED']));
    });
  });
});

describe('jwks status in a multi-region deployment', () => {
  const HOME = 'us-east-1';
  const OTHER = 'eu-west-1';
  function twoRegions(other: () => Promise<ReturnType<MemoryStack['registry']['snapshot']>>) {
    const stack = stackWith(KEYS);
    const active = KEYS.find((k) => k.status === 'ACTIVE');
    const home = {
      ...stack.registry.snapshot(),
      publications: [
        { region: HOME, keyRef: 'active', kid: active?.kid as string, publishedAt: T0 },
        { region: OTHER, keyRef: 'active', kid: active?.kid as string, publishedAt: T0 },
      ],
    };
    const regionRegistries = [
      { region: HOME, read: async () => home },
      { region: OTHER, read: other },
    ];
    return { ...stack, ctx: { ...stack.ctx, regionRegistries } };
  }

  it('shows the primary, epoch, serving set and per region its version, lag and served kids when --json', async () => {
    const stack = twoRegions(async () => ({
      ...stackWith(KEYS).registry.snapshot(),
      state: { registryVersion: 9 },
    }));
    const r = await run(['status', '--json'], stack);
    expect(r.code).toBe(0);
    const view = json<StatusView>(r);
    expect(view.regions).toMatchObject({ primaryRegion: HOME, epoch: 0, servingRegions: [HOME, OTHER] });
    const active = KEYS.find((k) => k.status === 'ACTIVE')?.kid;
    expect(view.regions?.regions).toEqual([
      expect.objectContaining({ region: HOME, up: true, primary: true, lag: 0, publishedKids: [active] }),
      // The other region has no mark of its own in its (older) replica yet.
      expect.objectContaining({
        region: OTHER,
        up: true,
        primary: false,
        registryVersion: 9,
        lag: 3,
        publishedKids: [],
      }),
    ]);
  });

  it('still shows the registry and marks a region that cannot be read as DOWN in the text', async () => {
    const stack = twoRegions(() => Promise.reject(new Error('connect ECONNREFUSED')));
    const r = await run(['status'], stack);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`primary ${HOME}  epoch 0  serving ${HOME},${OTHER}`);
    expect(r.stdout.split('\n').find((l) => l.startsWith(OTHER))).toMatch(
      /^eu-west-1\s+DOWN\s+watch\s+yes\s+-\s+-\s+-\s+\(unreachable: connect ECONNREFUSED\)$/,
    );
    expect(r.stdout.split('\n').find((l) => l.startsWith('registry version'))).toBeDefined();
  });

  it('shows no regions section in a single-region deployment', async () => {
    const r = await run(['status', '--json'], stackWith(KEYS));
    expect(json<StatusView>(r)).not.toHaveProperty('regions');
  });
});
