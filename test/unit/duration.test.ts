import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.ts';
import { hasCode } from '../../src/errors.ts';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe('parseDuration', () => {
  it('reads each unit when given digits and a unit', () => {
    expect(parseDuration('30d')).toBe(30 * 24 * 3600 * 1000);
    expect(parseDuration('48h')).toBe(48 * 3600 * 1000);
    expect(parseDuration('10m')).toBe(10 * 60 * 1000);
    expect(parseDuration('30s')).toBe(30 * 1000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('0s')).toBe(0);
  });

  it('takes a number as milliseconds when given a number', () => {
    expect(parseDuration(1500)).toBe(1500);
  });

  it.each(['', '30', '1.5h', '-1s', '30 d', '30D', 'd', '1w', '30days', '1h30m'])(
    'throws INVALID_DURATION when given %j',
    (value) => {
      expect(codeOf(() => parseDuration(value))).toBe('INVALID_DURATION');
    },
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'throws INVALID_DURATION when given the number %d',
    (n) => {
      expect(codeOf(() => parseDuration(n))).toBe('INVALID_DURATION');
    },
  );

  it('throws when the result is beyond a safe integer', () => {
    expect(codeOf(() => parseDuration('99999999999999999d'))).toBe('INVALID_DURATION');
  });
});

describe('formatDuration', () => {
  it('uses the largest exact unit when formatting', () => {
    expect(formatDuration(30 * 24 * 3600 * 1000)).toBe('30d');
    expect(formatDuration(36 * 3600 * 1000)).toBe('36h');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(0)).toBe('0s');
  });

  it('round-trips through parseDuration for any whole duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });

  it('throws when the input is negative', () => {
    let err: unknown;
    try {
      formatDuration(-5);
    } catch (e) {
      err = e;
    }
    expect(hasCode(err, 'INVALID_DURATION')).toBe(true);
  });
});
