/**
 * How long a key had been published when it started signing, for the warnings an emergency revoke
 * owes the operator (design §3: "warn when its lead has not passed"). Pure: the instants come from the
 * caller, the age is exact to the millisecond so the operator can tell verifiers' owners precisely which
 * caches may still lack the key.
 */
import { formatDuration } from './duration.ts';
import type { KeyRecord, Policy } from './types.ts';

export interface LeadNotice {
  readonly keyRef: string;
  readonly kid: string;
  readonly publishedAt: number;
  /** `at - publishedAt`: how long verifiers have been able to fetch a JWKS with this key. */
  readonly publishedAgeMs: number;
  /** Whether that age is at least `prepublishLead` (then no verifier honouring the cache headers fails). */
  readonly leadMet: boolean;
}

/** The lead of `record` when it starts signing at `at`; undefined for a key that was never published. */
export function leadNotice(record: KeyRecord, at: number, policy: Pick<Policy, 'prepublishLead'>) {
  if (record.kid === undefined || record.publishedAt === undefined) return undefined;
  const publishedAgeMs = Math.max(0, at - record.publishedAt);
  const notice: LeadNotice = {
    keyRef: record.keyRef,
    kid: record.kid,
    publishedAt: record.publishedAt,
    publishedAgeMs,
    leadMet: publishedAgeMs >= policy.prepublishLead,
  };
  return notice;
}

const PARTS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** An exact age, largest unit first: 11_525_120 → `3h12m5s120ms`, 0 → `0s`. */
export function formatAge(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  if (rest === 0) return '0s';
  let out = '';
  for (const [unit, size] of PARTS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

/** The operator-facing warning for a key that signs before its lead has passed. */
export function leadWarning(
  notice: LeadNotice,
  how: 'promoted' | 'activated',
  policy: Pick<Policy, 'prepublishLead'>,
): string {
  return (
    `${how} ${notice.kid}, published ${formatAge(notice.publishedAgeMs)} ago ` +
    `(${new Date(notice.publishedAt).toISOString()}), less than prepublishLead ` +
    `(${formatDuration(policy.prepublishLead)}): verifiers whose cached JWKS predates its publication ` +
    'reject its tokens until that cache expires'
  );
}
