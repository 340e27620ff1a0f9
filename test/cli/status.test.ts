import { describe, expect, it } from 'vitest';
import type { StatusView } from '../../src/cli/commands/status.ts';
import { HOUR, keyRecord, snapshotOf, T0 } from '../support/fixtures.ts';
import { json, memoryStack, run } from './harness.ts';

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
      /^KID\s+STATUS\s+ALG\s+CREATED\s+PUBLISHED\s+ACTIVATED\s+RETIRED\s+EXPIRED\s+REVOKED$/,
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
});
