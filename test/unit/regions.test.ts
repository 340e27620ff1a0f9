import { describe, expect, it } from 'vitest';
import { parseRegions, rollUpPublications, unmarkedInRegion, writerRole } from '../../src/core/regions.ts';
import type { Promotion, RegionPublication } from '../../src/core/types.ts';
import { keyRecord, snapshotOf, T0 } from '../support/fixtures.ts';

const A = 'eu-west-1';
const B = 'us-east-1';
const config = (region: string) => ({ region, regions: [A, B] });
const promotion = (epoch: number, region: string): Promotion => ({
  epoch,
  region,
  promotedAt: T0 + epoch,
  changedBy: 'cli:ops',
  reason: 'drill',
});
const mark = (region: string, keyRef: string, publishedAt: number, kid?: string): RegionPublication => ({
  region,
  keyRef,
  kid: kid ?? keyRecord(keyRef, 'PENDING').kid ?? '',
  publishedAt,
});

describe('parseRegions', () => {
  it('is undefined for a single region, so callers keep their single-region behaviour', () => {
    expect(parseRegions([], A)).toBeUndefined();
    expect(parseRegions([A], A)).toBeUndefined();
  });

  it('returns the region and the list when this region is one of several', () => {
    expect(parseRegions([A, B], B)).toEqual({ region: B, regions: [A, B] });
  });

  it.each([
    [[A, 'Eu-West-1'], A],
    [[A, A], A],
    [[A, B], 'ap-south-1'],
    [[A, B], undefined],
  ])('rejects %j in region %s with INVALID_ARGUMENT', (list, region) => {
    expect(() => parseRegions(list, region)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('writerRole', () => {
  it('makes the first region primary before any promotion, and asks it to record that in STATE', () => {
    const snapshot = snapshotOf([]);
    expect(writerRole(snapshot, config(A))).toEqual({
      role: 'primary',
      primaryRegion: A,
      epoch: 0,
      reassert: true,
      fencedWrite: false,
    });
    expect(writerRole(snapshot, config(B)).role).toBe('watch');
  });

  it('needs no re-assertion once STATE names the primary and its epoch', () => {
    const snapshot = snapshotOf([], { primaryRegion: A, epoch: 0 });
    expect(writerRole(snapshot, config(A))).toMatchObject({ role: 'primary', reassert: false });
  });

  it('follows the newest promotion, whatever STATE says', () => {
    const snapshot = {
      ...snapshotOf([], { primaryRegion: A, epoch: 1 }),
      promotions: [promotion(1, A), promotion(2, B)],
    };
    expect(writerRole(snapshot, config(A))).toMatchObject({ role: 'watch', primaryRegion: B, epoch: 2 });
    expect(writerRole(snapshot, config(B))).toMatchObject({
      role: 'primary',
      reassert: true,
      fencedWrite: true,
    });
  });

  it('reports a fenced write when STATE names an older epoch than the newest promotion', () => {
    const snapshot = {
      ...snapshotOf([], { primaryRegion: A, epoch: 1 }),
      promotions: [promotion(1, A), promotion(2, B)],
    };
    expect(writerRole(snapshot, config(B)).fencedWrite).toBe(true);
    const healed = { ...snapshot, state: { ...snapshot.state, primaryRegion: B, epoch: 2 } };
    expect(writerRole(healed, config(B))).toMatchObject({ fencedWrite: false, reassert: false });
  });
});

describe('rollUpPublications', () => {
  const pending = keyRecord('k1', 'PENDING');

  it('marks nothing while one region has not served the key', () => {
    const snapshot = { ...snapshotOf([pending]), publications: [mark(A, 'k1', T0)] };
    expect(rollUpPublications(snapshot, [A, B])).toEqual([]);
  });

  it('marks the key at the latest region publication once every region served it', () => {
    const snapshot = {
      ...snapshotOf([pending]),
      publications: [mark(A, 'k1', T0 + 5), mark(B, 'k1', T0 + 9)],
    };
    expect(rollUpPublications(snapshot, [A, B])).toEqual([{ keyRef: 'k1', publishedAt: T0 + 9 }]);
  });

  it('ignores a mark for another kid, a key already marked and a key no publisher serves', () => {
    const marked = keyRecord('k2', 'PENDING', { publishedAt: T0 });
    const expired = keyRecord('k3', 'EXPIRED');
    const snapshot = {
      ...snapshotOf([pending, marked, expired]),
      publications: [
        mark(A, 'k1', T0),
        mark(B, 'k1', T0, 'another-kid'),
        ...['k2', 'k3'].flatMap((k) => [mark(A, k, T0), mark(B, k, T0)]),
      ],
    };
    expect(rollUpPublications(snapshot, [A, B])).toEqual([]);
  });
});

describe('unmarkedInRegion', () => {
  it('lists the keys this region has not marked, whatever other regions did', () => {
    const snapshot = { ...snapshotOf([]), publications: [mark(A, 'k1', T0), mark(B, 'k2', T0)] };
    expect(unmarkedInRegion(snapshot, A, ['k1', 'k2'])).toEqual(['k2']);
  });
});
