import { describe, expect, it } from 'vitest';
import { cachePolicy, parseDirectives } from '../../src/local/cache-control.ts';
import { ifNoneMatchMatches, notModifiedSince } from '../../src/local/http-conditional.ts';

describe('cachePolicy', () => {
  it('uses max-age and stale-if-error in milliseconds when both are given', () => {
    expect(cachePolicy('public, max-age=300, stale-if-error=300')).toEqual({
      storable: true,
      ttlMs: 300_000,
      staleIfErrorMs: 300_000,
    });
  });
  it('prefers s-maxage over max-age when both are given (shared cache)', () => {
    expect(cachePolicy('max-age=10, s-maxage=20').ttlMs).toBe(20_000);
  });
  it('caps the lifetime at the max TTL when one is set', () => {
    expect(cachePolicy('max-age=31536000', { maxTtlMs: 300_000 }).ttlMs).toBe(300_000);
  });
  it('uses the default TTL when the header gives no lifetime', () => {
    expect(cachePolicy(undefined, { defaultTtlMs: 5_000 }).ttlMs).toBe(5_000);
    expect(cachePolicy('public').ttlMs).toBe(0);
  });
  it.each(['no-store', 'private, max-age=60'])('does not store when the header says %s', (header) => {
    expect(cachePolicy(header).storable).toBe(false);
  });
  it('treats no-cache and an invalid max-age as already stale', () => {
    expect(cachePolicy('no-cache, max-age=60').ttlMs).toBe(0);
    expect(cachePolicy('max-age=soon').ttlMs).toBe(0);
    expect(cachePolicy('max-age=-1').ttlMs).toBe(0);
  });
  it('reads names case-insensitively and unquotes values', () => {
    expect(parseDirectives('Max-Age="60", PUBLIC')).toEqual(
      new Map([
        ['max-age', '60'],
        ['public', undefined],
      ]),
    );
  });
});

describe('ifNoneMatchMatches', () => {
  it.each([
    ['"abc"', '"abc"'],
    ['W/"abc"', '"abc"'],
    ['"abc"', 'W/"abc"'],
    ['"x", "abc"', '"abc"'],
    ['"x,y", "abc"', '"abc"'],
    ['*', '"anything"'],
  ])('matches %s against %s (weak comparison)', (header, etag) => {
    expect(ifNoneMatchMatches(header, etag)).toBe(true);
  });
  it.each([
    ['"abcd"', '"abc"'],
    ['"x,abc"', '"abc"'],
    ['', '"abc"'],
  ])('does not match %s against %s', (header, etag) => {
    expect(ifNoneMatchMatches(header, etag)).toBe(false);
  });
});

describe('notModifiedSince', () => {
  const modified = new Date(Date.UTC(2030, 0, 1, 0, 0, 0, 500));
  it('is true when the date is at or after the last modification (second precision)', () => {
    expect(notModifiedSince(new Date(Date.UTC(2030, 0, 1)).toUTCString(), modified)).toBe(true);
  });
  it('is false when the object changed after the date, the date is invalid or unknown', () => {
    expect(notModifiedSince(new Date(Date.UTC(2029, 11, 31)).toUTCString(), modified)).toBe(false);
    expect(notModifiedSince('yesterday', modified)).toBe(false);
    expect(notModifiedSince(new Date().toUTCString(), undefined)).toBe(false);
  });
});
