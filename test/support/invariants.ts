/**
 * An observer of a World that checks design §3 invariants 1–7 after every step of a property test.
 * It keeps the history the invariants speak about, in *real* time (the instant of the step, whatever
 * clock each actor stamped records with): every JWKS ever written, when each kid was first on the
 * revocation list, when each key was first seen signing, retired and expired, and which activations
 * may skip the prepublish lead (an operator's `rotate --now`, an emergency promotion, the activation
 * that ends a window with no ACTIVE key). Nothing may skip publication: a key signs only after a JWKS
 * containing it was written.
 */
import { expect } from 'vitest';
import { OBJECT_KEYS } from '../../src/constants.ts';
import { renderJwks } from '../../src/core/jwks.ts';
import type { KeyRecord, Policy } from '../../src/core/types.ts';
import { listRevokedKids } from '../../src/revocations.ts';
import type { World } from './world.ts';

const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const MEMBERS: Record<string, string[]> = {
  RSA: ['kty', 'kid', 'use', 'alg', 'n', 'e'],
  EC: ['kty', 'kid', 'use', 'alg', 'crv', 'x', 'y'],
};

export interface StepInfo {
  /** The step was a reconcile that ran its whole plan (no crash, no conflict). */
  readonly cleanReconcile?: boolean;
  /** Activations in this step were forced by an operator (exempt from the lead, never from publication). */
  readonly forced?: boolean;
}

/** Real instants at which the observer first saw a key in a state. */
interface Seen {
  activated?: number;
  retired?: number;
  expired?: number;
}

export class InvariantObserver {
  readonly jwks: Array<{ at: number; kids: string[] }> = [];
  readonly #listedAt = new Map<string, number>();
  /** Activations exempt from the prepublish lead (never from publication). */
  readonly #leadExempt = new Set<string>();
  readonly #seen = new Map<string, Seen>();
  #seenPuts = 0;
  #activeBefore = new Set<string>();
  /** Whether the previous check saw an ACTIVE key. */
  #hadActive = false;
  /** Vault key states when the registry was restored (undefined: never restored). */
  #atRestore: Map<string, string> | undefined;

  /**
   * @param controlOffset how far the control plane's clock (the one stamping records) is ahead of real
   * time; used only where a record is compared with "now" outside invariants 2 and 3.
   */
  constructor(
    private readonly w: World,
    private readonly policy: Policy,
    private readonly controlOffset = 0,
  ) {}

  /**
   * The registry was just restored to an earlier point in time. From now on the history-based
   * invariants (1–3, 7) no longer describe what the restored registry says; what must still hold is
   * 4 and 5 (checked on every write) and that no key unknown to the registry is ever touched.
   */
  markRestored(): void {
    this.#atRestore = new Map(this.w.vault.all().map((v) => [v.vaultKeyId, v.state]));
  }

  listedKids(): Set<string> {
    return new Set(this.#listedAt.keys());
  }

  async check(now: number, info: StepInfo = {}): Promise<void> {
    const { keys, state } = this.w.registry.snapshot();
    const activated = keys.filter((k) => k.activatedAt !== undefined && !this.#activeBefore.has(k.keyRef));
    for (const k of activated) {
      // The lead may be skipped when the key replaced nothing that signed on schedule: the deployment's
      // first key or the activation that ends a window with no ACTIVE key (none at the last check), an
      // emergency promotion (the ACTIVE key was revoked in the same commit, by the operator's command
      // or by a reconciler finishing it from the revocation list), or `rotate --now`.
      const promoted = keys.some(
        (r) =>
          r.status === 'REVOKED' &&
          r.revokedAt === k.activatedAt &&
          r.activatedAt !== undefined &&
          r.retiredAt === undefined,
      );
      if (info.forced || promoted || !this.#hadActive) this.#leadExempt.add(k.keyRef);
    }
    this.#hadActive = keys.some((k) => k.status === 'ACTIVE');
    for (const k of activated) this.#activeBefore.add(k.keyRef);
    for (const k of keys) {
      const seen = this.#seen.get(k.keyRef) ?? {};
      if (k.activatedAt !== undefined) seen.activated ??= now;
      if (k.retiredAt !== undefined) seen.retired ??= now;
      if (k.expiredAt !== undefined) seen.expired ??= now;
      this.#seen.set(k.keyRef, seen);
    }

    // Invariants 4 and 5 on every JWKS written during this step.
    const puts = this.w.store.puts.slice(this.#seenPuts);
    this.#seenPuts = this.w.store.puts.length;
    for (const put of puts.filter((p) => p.key === OBJECT_KEYS.JWKS)) {
      const doc = JSON.parse(put.body) as { keys: Array<Record<string, unknown>> };
      const kids = doc.keys.map((k) => String(k.kid));
      expect(new Set(kids).size).toBe(kids.length);
      for (const jwk of doc.keys) {
        expect(PRIVATE.filter((m) => m in jwk)).toEqual([]);
        expect(Object.keys(jwk)).toEqual(MEMBERS[String(jwk.kty)]);
      }
      for (const kid of kids) expect(this.#listedAt.has(kid)).toBe(false);
      this.jwks.push({ at: now, kids });
      if (!this.#atRestore) this.#checkRetention(keys, now, kids);
    }
    for (const kid of await listRevokedKids(this.w.store))
      if (!this.#listedAt.has(kid)) this.#listedAt.set(kid, now);
    if (this.#atRestore) {
      const known = new Set(keys.map((k) => k.keyRef));
      for (const v of this.w.vault.all()) {
        if (!known.has(v.keyRef as string))
          expect(v.state).toBe(this.#atRestore.get(v.vaultKeyId) ?? 'Enabled');
      }
      return;
    }

    for (const k of keys.filter((x) => x.status === 'EXPIRED')) {
      // Invariant 3, in real time and in the records' own (control-plane) time.
      const seen = this.#seen.get(k.keyRef) as Seen;
      expect((seen.expired as number) - (seen.retired as number)).toBeGreaterThanOrEqual(
        this.policy.retention,
      );
      expect((k.expiredAt as number) - (k.retiredAt as number)).toBeGreaterThanOrEqual(this.policy.retention);
    }
    this.#checkSlots(keys, state, info);
    for (const k of keys) if (k.activatedAt !== undefined) this.#checkActivation(k);
    this.#checkVault(keys, now, info);
  }

  /** Invariant 3 (and PENDING/ACTIVE keys are published): every key that may verify tokens is in the set. */
  #checkRetention(keys: readonly KeyRecord[], at: number, kids: string[]): void {
    const enabled = new Set(
      this.w.vault
        .all()
        .filter((v) => v.state === 'Enabled')
        .map((v) => v.vaultKeyId),
    );
    for (const k of keys) {
      if (!k.kid || this.#listedAt.has(k.kid) || k.revokedAt !== undefined) continue;
      // Design §11: a key is published only when the vault proves it, and KMS gives no public key once
      // disabled; a key activated unpublished (`rotate --now`) and disabled before any publication was
      // never in front of a verifier, and can no longer be proven: it stays out.
      if (!this.#provable(k, enabled)) continue;
      const retired = this.#seen.get(k.keyRef)?.retired;
      const mustShow =
        (k.status === 'PENDING' || k.activatedAt !== undefined) &&
        (retired === undefined || at < retired + this.policy.retention);
      if (mustShow) expect(kids).toContain(k.kid);
    }
  }

  /** Invariant 1: at most one ACTIVE and one standby, ever; once settled, exactly one of each. */
  #checkSlots(
    keys: readonly KeyRecord[],
    state: { activeKeyRef?: string; pendingKeyRef?: string; bootstrappedAt?: number },
    info: StepInfo,
  ): void {
    const actives = keys.filter((k) => k.status === 'ACTIVE');
    const standbys = keys.filter((k) => k.status === 'CREATING' || k.status === 'PENDING');
    expect(actives.length).toBeLessThanOrEqual(1);
    expect(standbys.length).toBeLessThanOrEqual(1);
    expect(state.activeKeyRef).toBe(actives[0]?.keyRef);
    expect(state.pendingKeyRef).toBe(standbys[0]?.keyRef);
    if (state.bootstrappedAt !== undefined && actives.length === 0) {
      // Activation always retires its predecessor, so only a revoke can leave no ACTIVE key.
      expect(
        keys.some((k) => k.status === 'REVOKED' && k.activatedAt !== undefined && k.retiredAt === undefined),
      ).toBe(true);
    }
    if (info.cleanReconcile) {
      expect(standbys).toHaveLength(1);
      const standby = standbys[0] as KeyRecord;
      if (state.bootstrappedAt !== undefined && actives.length === 0) {
        // Then the standby must not have been eligible yet: the reconciler activates as soon as it is.
        // With no ACTIVE key the lead is waived (publication is not): a published standby is eligible.
        expect(standby.status === 'PENDING' && standby.publishedAt !== undefined).toBe(false);
      }
    }
  }

  /**
   * Invariant 2, in real time: a key signs only after a JWKS containing it was written, and — unless its
   * activation was exempt from the lead — at least `prepublishLead` after that. It must also carry the
   * publisher's mark (`publishedAt`), the only thing the planner's gate reads.
   */
  #checkActivation(k: KeyRecord): void {
    const firstSeen = this.jwks.find((j) => j.kids.includes(k.kid as string))?.at;
    const activated = this.#seen.get(k.keyRef)?.activated as number;
    expect(k.publishedAt).toBeDefined();
    expect(firstSeen).toBeDefined();
    expect(firstSeen as number).toBeLessThanOrEqual(activated);
    if (!this.#leadExempt.has(k.keyRef)) {
      expect((firstSeen as number) + this.policy.prepublishLead).toBeLessThanOrEqual(activated);
    }
  }

  /** Invariant 7, and the vault side of 1/4: no key deleted or disabled unless the registry says so. */
  #checkVault(keys: readonly KeyRecord[], now: number, info: StepInfo): void {
    const byRef = new Map(keys.map((k) => [k.keyRef, k]));
    const refs = this.w.vault.all().map((v) => v.keyRef);
    expect(new Set(refs).size).toBe(refs.length);
    for (const v of this.w.vault.all()) {
      const r = byRef.get(v.keyRef as string);
      expect(r).toBeDefined();
      const status = r?.status as KeyRecord['status'];
      if (v.state === 'PendingDeletion') expect(['EXPIRED', 'REVOKED', 'ABANDONED']).toContain(status);
      if (v.state === 'Disabled') {
        expect(['RETIRED', 'EXPIRED', 'REVOKED', 'ABANDONED']).toContain(status);
        if (status === 'RETIRED') {
          const retired = this.#seen.get(r?.keyRef as string)?.retired as number;
          expect(retired + this.policy.signerCacheTtl).toBeLessThanOrEqual(now);
        }
      }
      if (status === 'ACTIVE' || status === 'PENDING') expect(v.state).toBe('Enabled');
      if (status === 'REVOKED' && r?.kid && this.#listedAt.has(r.kid) && info.cleanReconcile) {
        expect(v.state).not.toBe('Enabled');
      }
    }
    if (info.cleanReconcile) {
      const stale = keys.filter(
        (k) => k.status === 'CREATING' && k.createdAt + this.policy.intentTimeout <= now + this.controlOffset,
      );
      expect(stale).toEqual([]);
    }
  }

  /** Whether the vault can still prove the key: enabled, or carried by a JWKS written earlier. */
  #provable(k: KeyRecord, enabled: ReadonlySet<string>): boolean {
    return enabled.has(k.vaultKeyId as string) || this.jwks.some((j) => j.kids.includes(k.kid as string));
  }

  /** Invariant 6: the stored set is the rendering of the registry; publishing again changes nothing. */
  expectStoredMatchesRegistry(): void {
    const enabled = new Set(
      this.w.vault
        .all()
        .filter((v) => v.state === 'Enabled')
        .map((v) => v.vaultKeyId),
    );
    const keys = this.w.registry.snapshot().keys.filter((k) => this.#provable(k, enabled));
    const body = renderJwks(keys, this.listedKids()).body;
    expect(this.w.store.text(OBJECT_KEYS.JWKS)).toBe(body);
  }
}
