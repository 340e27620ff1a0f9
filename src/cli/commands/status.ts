/**
 * `jwks status`: the registry as an operator needs to see it — every key with its lifecycle state and
 * timestamps, the registry version, which key signs and which one stands by.
 */
import type { KeyRecord, RegistrySnapshot } from '../../core/types.ts';
import { type Command, cell, table } from '../command.ts';
import { EXIT, iso } from '../output.ts';

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
}

export interface StatusView {
  readonly registryVersion: number;
  readonly activeKid?: string;
  readonly pendingKid?: string;
  readonly keys: KeyStatusView[];
}

export function statusView(snapshot: RegistrySnapshot): StatusView {
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
      }),
    );
  const pending = snapshot.keys.find((k) => k.keyRef === snapshot.state.pendingKeyRef);
  return {
    registryVersion: snapshot.state.registryVersion,
    ...(snapshot.state.activeKid === undefined ? {} : { activeKid: snapshot.state.activeKid }),
    ...(pending?.kid === undefined ? {} : { pendingKid: pending.kid }),
    keys,
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
  ];
  // Columns two spaces apart, never a comma: a kid is a whitespace-delimited word an operator can copy
  // (double-click) into `jwks revoke <kid>` as it is, also when it begins with "-".
  const summary = [
    `registry version ${view.registryVersion}`,
    `active ${view.activeKid ?? '(none)'}`,
    `pending ${view.pendingKid ?? '(none)'}`,
  ].join('  ');
  return rows.length === 0 ? `${summary}\nno keys yet` : `${summary}\n${table([header, ...rows])}`;
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'keys with their state and timestamps, the registry version, the active and pending kid',
  options: {},
  positionals: [],
  help: [],
  async run({ out, context }) {
    const ctx = await context();
    const snapshot = await ctx.registry.read();
    const view = statusView(snapshot);
    out.result(view, human(snapshot, view));
    return EXIT.OK;
  },
};
