/**
 * Durations as operators write them (`30d`, `48h`, `10m`, `30s`, `250ms`) ↔ milliseconds.
 *
 * Hand-written rather than a library (`ms`, `parse-duration`) on purpose: those accept fractions,
 * negative values, spaces, long unit names and unit-less strings, and silently round. A policy
 * setting that gates key activation must be exactly what the operator meant, so only
 * `<digits><unit>` is accepted and a unit-less string is refused (is `300` seconds or ms?).
 */
import { DurationError } from '../errors.ts';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

/** Largest unit first, so `formatDuration` picks the shortest exact spelling. */
const UNITS_DESC: readonly Unit[] = ['d', 'h', 'm', 's', 'ms'];

const DURATION = /^(\d+)(ms|s|m|h|d)$/;

/**
 * Parses `<digits><ms|s|m|h|d>` to milliseconds. A number is taken as milliseconds already.
 * Throws DurationError for anything else (empty, unit-less, fractional, negative, unsafe).
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new DurationError(`duration ${value} is not a whole, non-negative number of milliseconds`);
    }
    return value;
  }
  const match = DURATION.exec(value.trim());
  if (!match) {
    throw new DurationError(
      `duration ${JSON.stringify(value)} is not <digits><unit> with unit ms, s, m, h or d (e.g. 30d, 48h, 10m, 30s)`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as Unit];
  if (!Number.isSafeInteger(ms)) throw new DurationError(`duration ${JSON.stringify(value)} is too large`);
  return ms;
}

/** The shortest exact spelling: 2_592_000_000 → `30d`, 172_800_000 → `2d`, 90_000 → `90s`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new DurationError(`${ms} is not a duration in milliseconds`);
  if (ms === 0) return '0s';
  const unit = UNITS_DESC.find((u) => ms % UNIT_MS[u] === 0) ?? 'ms';
  return `${ms / UNIT_MS[unit]}${unit}`;
}
