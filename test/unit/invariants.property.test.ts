/**
 * Design §3 invariants 1–7 as properties: random sequences of clock advances, reconciler runs,
 * publisher runs, crashes between any two adapter calls, two concurrent reconcilers (interleaved by
 * fast-check's scheduler, or both reading before either commits), revocations at any moment (also
 * between a commit and its publication) and operator rotations, with every invariant checked after
 * every step (test/support/invariants.ts). A last property gives the actors clocks that disagree.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord } from '../../src/core/types.ts';
import { hasCode } from '../../src/errors.ts';
import { requestRotation, revokeKey } from '../../src/operations.ts';
import { publishJwks } from '../../src/publisher.ts';
import { reconcile } from '../../src/reconciler.ts';
import { COMPRESSED_POLICY, HOUR, MINUTE, policyOf, SECOND, T0 } from '../support/fixtures.ts';
import { InvariantObserver } from '../support/invariants.ts';
import { type CrashWhen, MemoryKeyVault, SimulatedCrash } from '../support/memory.ts';
import { makeWorld, type World } from '../support/world.ts';

const policy = policyOf(COMPRESSED_POLICY);
const operator = { changedBy: 'cli:prop', reason: 'property test' };

type Crash = { at: number; when: CrashWhen } | null;
type Step =
  | { kind: 'advance'; ms: number }
  /** What production does on a schedule: time passes, the reconciler runs, the publisher follows. */
  | { kind: 'cycle'; ms: number }
  | { kind: 'reconcile'; crash: Crash }
  | { kind: 'publish'; crash: Crash; cdnFails: boolean }
  | { kind: 'race'; scheduler: fc.Scheduler | null }
  | { kind: 'revoke'; pick: number | 'active'; crash: Crash; retry: boolean }
  /** A commit (a reconcile, or an operator's rotation) and, before any publication, a revoke. */
  | { kind: 'commitThenRevoke'; commit: 'reconcile' | 'rotate' | 'rotateNow'; pick: number | 'active' }
  | { kind: 'rotate'; immediate: boolean };

const crash: fc.Arbitrary<Crash> = fc.option(
  fc.record({ at: fc.nat(14), when: fc.constantFrom<CrashWhen>('before', 'after') }),
  { freq: 3 },
);

// Around every policy duration (5s cache, 15m intents, 40m retention, 1h lead, 4h period).
const duration = fc.constantFrom(
  5 * SECOND,
  MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  25 * MINUTE,
  45 * MINUTE,
  HOUR,
  2 * HOUR,
  5 * HOUR,
);

/** Which key a revoke hits: the ACTIVE one (the emergency), or any revocable one. */
const revokePick: fc.Arbitrary<number | 'active'> = fc.oneof(fc.constant('active' as const), fc.nat(3));

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: duration }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('cycle' as const), ms: duration }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reconcile' as const), crash }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      crash,
      cdnFails: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, fc.constant(true)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('race' as const),
      scheduler: fc.option(fc.scheduler(), { freq: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('revoke' as const),
      pick: revokePick,
      crash,
      retry: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('commitThenRevoke' as const),
      commit: fc.constantFrom('reconcile' as const, 'rotate' as const, 'rotateNow' as const),
      pick: revokePick,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rotate' as const), immediate: fc.boolean() }) },
);

/** Runs `fn` with a crash armed `at` calls from now; a simulated crash (or a CDN outage) is swallowed. */
async function attempt<T>(w: World, c: Crash, fn: () => Promise<T>): Promise<T | undefined> {
  if (c) w.faults.crashAtCall(c.at, c.when);
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SimulatedCrash || hasCode(err, 'INVALIDATION_FAILED')) return undefined;
    throw err;
  } finally {
    w.faults.clear();
  }
}

/** The adapters as seen through the scheduler: each call waits until fast-check lets it run. */
function scheduled<T extends object>(target: T, s: fc.Scheduler): T {
  return new Proxy(target, {
    get(t, prop) {
      const v = Reflect.get(t, prop, t);
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        await s.schedule(Promise.resolve(String(prop)));
        return v.apply(t, args);
      };
    },
  });
}

/** `blind`: the scheduled reconciler does not read the revocation list (only the publisher defends). */
async function run(w: World, obs: InvariantObserver, s: Step, now: number, blind = false): Promise<void> {
  const reconcileDeps = blind ? { ...w.ops, store: undefined } : w.ops;
  switch (s.kind) {
    case 'advance':
      return obs.check(now);
    case 'cycle':
      await run(w, obs, { kind: 'reconcile', crash: null }, now, blind);
      return run(w, obs, { kind: 'publish', crash: null, cdnFails: false }, now, blind);
    case 'reconcile': {
      const result = await attempt(w, s.crash, () => reconcile(reconcileDeps, now));
      return obs.check(now, { cleanReconcile: result !== undefined && result.conflicts === 0 });
    }
    case 'publish': {
      w.cdn.failures = s.cdnFails ? 1 : 0;
      const result = await attempt(w, s.crash, () => publishJwks(w.publish, now));
      w.cdn.failures = 0;
      await obs.check(now);
      if (result && result.skipped !== 'stored-newer') {
        // Invariant 6: same registry, same bytes: publishing again writes and invalidates nothing.
        obs.expectStoredMatchesRegistry();
        const puts = w.store.puts.length;
        const calls = w.cdn.calls.length;
        expect(await publishJwks(w.publish, now)).toMatchObject({ written: false, invalidated: false });
        expect([w.store.puts.length, w.cdn.calls.length]).toEqual([puts, calls]);
      }
      return;
    }
    case 'race': {
      const deps = s.scheduler
        ? {
            ...w.ops,
            registry: scheduled(w.registry, s.scheduler),
            vault: scheduled(w.vault, s.scheduler),
            store: scheduled(w.store, s.scheduler),
          }
        : w.ops;
      const both = Promise.all([reconcile(deps, now), reconcile(deps, now)]);
      const results = s.scheduler ? await s.scheduler.waitFor(both) : await both;
      expect(results.filter((r) => r.conflicts > 0).length).toBeLessThanOrEqual(1);
      return obs.check(now);
    }
    case 'revoke': {
      const kid = revokeTarget(w, s.pick);
      if (!kid) return obs.check(now);
      const target = w.registry.snapshot().keys.find((k) => k.kid === kid) as KeyRecord;
      let result = await attempt(w, s.crash, () => revokeKey(w.ops, kid, operator, now));
      // An operator whose command failed runs it again (or not: then the next reconcile finishes it).
      if (!result && s.retry) result = await revokeKey(w.ops, kid, operator, now);
      if (result) expect(w.vault.stateOf(target.vaultKeyId as string)).not.toBe('Enabled');
      return obs.check(now, { forced: true });
    }
    case 'commitThenRevoke': {
      if (s.commit === 'reconcile') await reconcile(reconcileDeps, now);
      else await rotate(w, s.commit === 'rotateNow', now);
      await obs.check(now, { forced: s.commit === 'rotateNow' });
      return run(w, obs, { kind: 'revoke', pick: s.pick, crash: null, retry: false }, now, blind);
    }
    case 'rotate': {
      await rotate(w, s.immediate, now);
      return obs.check(now, { forced: s.immediate });
    }
  }
}

/** The kid a revoke step hits, if any key is revocable. */
function revokeTarget(w: World, pick: number | 'active'): string | undefined {
  const { keys } = w.registry.snapshot();
  if (pick === 'active') return keys.find((k) => k.status === 'ACTIVE')?.kid;
  const candidates = keys.filter((k) => ['PENDING', 'ACTIVE', 'RETIRED'].includes(k.status));
  return candidates[pick % Math.max(1, candidates.length)]?.kid;
}

/** `rotate [--now]`; `--now` with no published standby is refused, never forced (invariant 2). */
async function rotate(w: World, immediate: boolean, now: number): Promise<void> {
  await requestRotation(w.ops, { immediate }, operator, now).catch((err: unknown) => {
    if (!(immediate && (hasCode(err, 'KEY_NOT_FOUND') || hasCode(err, 'KEY_NOT_PUBLISHED')))) throw err;
  });
}

describe('lifecycle invariants (design §3)', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 64));

  it('hold after every step of any history of runs, crashes, races, revocations and rotations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
        const w = makeWorld(policy);
        const obs = new InvariantObserver(w, policy);
        let now = T0;
        for (const s of steps) {
          if (s.kind === 'advance' || s.kind === 'cycle') now += s.ms;
          await run(w, obs, s, now);
        }
        // Settle: with no faults, the system reaches one ACTIVE and one published PENDING key.
        for (let i = 0; i < 3; i++) {
          now += policy.prepublishLead;
          await run(w, obs, { kind: 'reconcile', crash: null }, now);
          await run(w, obs, { kind: 'publish', crash: null, cdnFails: false }, now);
        }
        await run(w, obs, { kind: 'reconcile', crash: null }, now);
        const statuses = w.registry.snapshot().keys.map((k) => k.status);
        expect(statuses.filter((x) => x === 'ACTIVE')).toHaveLength(1);
        expect(statuses.filter((x) => x === 'PENDING')).toHaveLength(1);
      }),
      { numRuns: Number(process.env.PROP_RUNS ?? 150) },
    );
  });
});

describe('revocations survive a point-in-time restore (invariant 4)', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 64));

  const calm: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('cycle' as const), ms: duration }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('revoke' as const),
        pick: revokePick,
        crash: fc.constant(null),
        retry: fc.constant(false),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('rotate' as const), immediate: fc.boolean() }) },
  );

  it('keeps every revoked kid out of every later JWKS and never touches keys the restored registry forgot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(calm, { minLength: 3, maxLength: 25 }),
        fc.nat(),
        fc.array(calm, { minLength: 1, maxLength: 15 }),
        fc.boolean(),
        async (before, pick, after, blind) => {
          const w = makeWorld(policy);
          const obs = new InvariantObserver(w, policy);
          const history = [w.registry.snapshot()];
          let now = T0;
          for (const s of before) {
            if (s.kind === 'cycle') now += s.ms;
            await run(w, obs, s, now);
            history.push(w.registry.snapshot());
          }
          w.registry.restore(history[pick % history.length] as (typeof history)[number]);
          obs.markRestored();
          for (const s of after) {
            if (s.kind === 'cycle') now += s.ms;
            await run(w, obs, s, now, blind);
            // Nothing can sign with a listed kid, whatever the restored registry says about it.
            for (const v of w.vault.all()) {
              const kid = history.flatMap((h) => h.keys).find((k) => k.vaultKeyId === v.vaultKeyId)?.kid;
              if (kid && obs.listedKids().has(kid)) expect(v.state).not.toBe('Enabled');
            }
          }
        },
      ),
      { numRuns: Number(process.env.PROP_RUNS ?? 60) },
    );
  });
});

describe('invariants 2 and 3 when the actors’ clocks disagree (design §11: one clock decides)', () => {
  beforeAll(() => MemoryKeyVault.warmPool(['ES256'], 64));

  type ClockStep =
    /** Time passes; the scheduled reconciler runs, then the stream-driven publisher. */
    | { kind: 'cycle'; ms: number }
    /** An operator's command from a workstation whose clock is a day off, executed by the control plane. */
    | { kind: 'cliRevoke'; pick: number | 'active' }
    | { kind: 'cliRotate'; immediate: boolean }
    | { kind: 'cliPublish' };

  const clockStep: fc.Arbitrary<ClockStep> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('cycle' as const), ms: duration }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cliRevoke' as const), pick: revokePick }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('cliRotate' as const), immediate: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('cliPublish' as const) }) },
  );

  it('hold in real time whatever the CLI’s clock says, and with the control plane off real time', async () => {
    await fc.assert(
      fc.asyncProperty(
        // The control plane (reconciler) vs real time; the publisher at or ahead of it; the CLI a day off.
        fc.constantFrom(-30 * MINUTE, 0, 30 * MINUTE),
        fc.constantFrom(0, SECOND, MINUTE),
        fc.constantFrom(-24 * HOUR, 24 * HOUR),
        fc.array(clockStep, { minLength: 5, maxLength: 40 }),
        async (control, publisherAhead, cli, steps) => {
          const w = makeWorld(policy);
          const obs = new InvariantObserver(w, policy, control);
          let now = T0; // real time: what verifiers and token holders live by
          const ops = { ...w.ops, clock: () => now + control };
          const publish = { ...w.publish, clock: () => now + control + publisherAhead };
          const cycle = async () => {
            await reconcile(ops, now + control);
            await obs.check(now, { cleanReconcile: true });
            await publishJwks(publish, now + control + publisherAhead);
            await obs.check(now);
          };
          for (const s of steps) {
            // What the workstation believes; before the fix the commands decided with it.
            const cliNow = now + cli;
            if (s.kind === 'cycle') {
              now += s.ms;
              await cycle();
            } else if (s.kind === 'cliRevoke') {
              const kid = revokeTarget(w, s.pick);
              if (kid) await revokeKey(ops, kid, operator, cliNow);
              await obs.check(now, { forced: true });
            } else if (s.kind === 'cliRotate') {
              await requestRotation(ops, { immediate: s.immediate }, operator, cliNow).catch(
                (err: unknown) => {
                  if (!(s.immediate && (hasCode(err, 'KEY_NOT_FOUND') || hasCode(err, 'KEY_NOT_PUBLISHED'))))
                    throw err;
                },
              );
              await obs.check(now, { forced: s.immediate });
            } else {
              await publishJwks(publish, cliNow);
              await obs.check(now);
            }
          }
          for (let i = 0; i < 3; i++) {
            now += policy.prepublishLead;
            await cycle();
          }
        },
      ),
      { numRuns: Number(process.env.PROP_RUNS ?? 80) },
    );
  });
});
