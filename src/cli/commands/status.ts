/**
 * `jwks status`: the registry as an operator needs to see it — every key with its lifecycle state and
 * timestamps, the registry version, which key signs and which one stands by — and, for every key in a
 * published state, whether the vault backs it (design §11): `UNVERIFIED` is a record the publisher
 * leaves out of the JWKS, with the reason (docs/runbook.md). The check is the publisher's own.
 */
import type { KeyRecord, RegistrySnapshot } from '../../core/types.ts';
import type { Proof, ProofFailure } from '../../core/vault-proof.ts';
import { proveRecords, readPublishedJwks } from '../../vault-proofs.ts';
import { type Command, cell, table } from '../command.ts';
import { EXIT, iso } from '../output.ts';
import { type RegionsView, readRegions, regionsText } from '../region-status.ts';

export interface KeyStatusView {
  readonly kid?: string;
  readonly keyRef: string;
  readonly status: KeyRecord['status'];
  readonly alg: KeyRecord['alg'];
  readonly createdAt?: string;
  readonly publishedAt?: string;
  readonly activatedAt?: string;
  readonly retiredAt?: string;
  readonly expiredAt?: string;
  readonly revokedAt?: string;
  /** Keys in a published state only: whether the vault backs the record (UNCHECKED: it could not be asked). */
  readonly vault?: 'VERIFIED' | 'UNVERIFIED' | 'UNCHECKED';
  /** Why an UNVERIFIED record is not backed. */
  readonly vaultFailure?: ProofFailure;
}

export interface StatusView {
  readonly registryVersion: number;
  readonly activeKid?: string;
  readonly pendingKid?: string;
  readonly keys: KeyStatusView[];
  /** Why the vault could not be asked (the keys then say UNCHECKED). */
  readonly vaultError?: string;
  /** Multi-region: the primary, its epoch, the serving set and every region's replica (region-status.ts). */
  readonly regions?: RegionsView;
}

type VaultCheck = { readonly proofs: ReadonlyMap<string, Proof> } | { readonly error: string };

function vaultFields(check: VaultCheck | undefined, keyRef: string): Partial<KeyStatusView> {
  if (!check) return {};
  if ('error' in check) return { vault: 'UNCHECKED' };
  const proof = check.proofs.get(keyRef);
  if (!proof) return {};
  return proof.verified ? { vault: 'VERIFIED' } : { vault: 'UNVERIFIED', vaultFailure: proof.failure };
}

export function statusView(
  snapshot: RegistrySnapshot,
  check?: VaultCheck,
  regions?: RegionsView,
): StatusView {
  const keys = [...snapshot.keys]
    .sort((a, b) => a.createdAt - b.createdAt || a.keyRef.localeCompare(b.keyRef))
    .map(
      (k): KeyStatusView => ({
        ...(k.kid === undefined ? {} : { kid: k.kid }),
        keyRef: k.keyRef,
        status: k.status,
        alg: k.alg,
        createdAt: iso(k.createdAt),
        publishedAt: iso(k.publishedAt),
        activatedAt: iso(k.activatedAt),
        retiredAt: iso(k.retiredAt),
        expiredAt: iso(k.expiredAt),
        revokedAt: iso(k.revokedAt),
        ...vaultFields(check, k.keyRef),
      }),
    );
  const pending = snapshot.keys.find((k) => k.keyRef === snapshot.state.pendingKeyRef);
  return {
    registryVersion: snapshot.state.registryVersion,
    ...(snapshot.state.activeKid === undefined ? {} : { activeKid: snapshot.state.activeKid }),
    ...(pending?.kid === undefined ? {} : { pendingKid: pending.kid }),
    keys,
    ...(check && 'error' in check ? { vaultError: check.error } : {}),
    ...(regions ? { regions } : {}),
  };
}

function human(snapshot: RegistrySnapshot, view: StatusView): string {
  const byRef = new Map(snapshot.keys.map((k) => [k.keyRef, k]));
  const rows = view.keys.map((v) => {
    const k = byRef.get(v.keyRef) as KeyRecord;
    return [
      k.kid ?? `(keyRef ${k.keyRef})`,
      k.status,
      k.alg,
      cell(k.createdAt),
      cell(k.publishedAt),
      cell(k.activatedAt),
      cell(k.retiredAt),
      cell(k.expiredAt),
      cell(k.revokedAt),
      v.vault === 'UNVERIFIED' ? `UNVERIFIED (${v.vaultFailure})` : (v.vault ?? '-'),
    ];
  });
  const header = [
    'KID',
    'STATUS',
    'ALG',
    'CREATED',
    'PUBLISHED',
    'ACTIVATED',
    'RETIRED',
    'EXPIRED',
    'REVOKED',
    'VAULT',
  ];
  // Columns two spaces apart, never a comma: a kid is a whitespace-delimited word an operator can copy
  // (double-click) into `jwks revoke <kid>` as it is, also when it begins with "-".
  const summary = [
    `registry version ${view.registryVersion}`,
    `active ${view.activeKid ?? '(none)'}`,
    `pending ${view.pendingKid ?? '(none)'}`,
  ].join('  ');
  const warning = view.vaultError ? `\nvault not checked: ${view.vaultError}` : '';
  const regions = view.regions ? `\n\n${regionsText(view.regions)}` : '';
  const keys =
    rows.length === 0 ? `${summary}\nno keys yet` : `${summary}\n${table([header, ...rows])}${warning}`;
  return `${keys}${regions}`;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'keys with their state and timestamps, the registry version, the active and pending kid',
  options: {},
  positionals: [],
  help: [],
  async run({ out, context }) {
    const ctx = await context();
    // Every region's replica at the same time as this region's registry: the regions add one round
    // trip to the slowest region, not one per region.
    const regions = ctx.regionRegistries ? readRegions(ctx.regionRegistries) : undefined;
    const snapshot = await ctx.registry.read();
    let check: VaultCheck;
    try {
      check = { proofs: await proveRecords(ctx.vault, snapshot.keys, () => readPublishedJwks(ctx.store)) };
    } catch (err) {
      // The registry is still worth showing when the vault cannot be asked (no KMS permission, say).
      check = { error: err instanceof Error ? err.message : String(err) };
    }
    const view = statusView(snapshot, check, await regions);
    out.result(view, human(snapshot, view));
    return EXIT.OK;
  },
};
