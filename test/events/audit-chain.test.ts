import { beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/core/audit.ts';
import { type KeyChange, lifecycleEventOf } from '../../src/core/events.ts';
import { verifyAuditChain } from '../../src/events/audit-chain.ts';
import { type AuditEntry, AuditLog, readAudit } from '../../src/events/audit-log.ts';
import { keyChangeFromRecord } from '../../src/events/stream-change.ts';
import { DAY, T0 } from '../support/fixtures.ts';
import { MemoryObjectStore } from '../support/memory.ts';
import { historyRecords, keyHistory } from './stream-fixtures.ts';

const JWKS_URI = 'https://issuer.example/.well-known/jwks.json';
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Re-serialize an edited record canonically, as a careful forger would. */
const rewrite = (entry: AuditEntry, edit: (r: Record<string, unknown>) => void): AuditEntry => {
  const record = JSON.parse(text(entry.body));
  edit(record);
  return { ...entry, body: utf8(canonicalJson(record)) };
};

describe('verifyAuditChain', () => {
  let entries: AuditEntry[];
  let chainA: AuditEntry[];

  beforeEach(async () => {
    const store = new MemoryObjectStore();
    const log = new AuditLog({ store });
    const a = historyRecords(keyHistory('key-a')).map((r) => keyChangeFromRecord(r) as KeyChange);
    const b = historyRecords(keyHistory('key-b', T0 + DAY), T0 + DAY).map(
      (r) => keyChangeFromRecord(r) as KeyChange,
    );
    for (let i = 0; i < a.length; i++) {
      for (const c of [a[i], b[i]] as KeyChange[]) await log.append(c, lifecycleEventOf(c, JWKS_URI));
    }
    entries = await readAudit(store);
    chainA = entries.filter((e) => e.record?.keyRef === 'key-a');
  });

  it('reports intact chains with their counts when nothing was touched', () => {
    expect(verifyAuditChain(entries)).toEqual({
      ok: true,
      chains: 2,
      records: entries.length,
      firstBreak: null,
    });
  });

  it('reports MISSING at the next record when a record in the middle was removed', () => {
    const removed = chainA.filter((_, i) => i !== 3);
    const result = verifyAuditChain(removed);
    expect(result.ok).toBe(false);
    expect(result.firstBreak).toMatchObject({ kind: 'MISSING', keyRef: 'key-a', objectKey: chainA[4]?.key });
  });

  it('reports MISSING at the new first record when the first record was removed', () => {
    const result = verifyAuditChain(chainA.slice(1));
    expect(result.firstBreak).toMatchObject({ kind: 'MISSING', objectKey: chainA[1]?.key });
  });

  it('reports ALTERED at the record when its bytes were edited in place', () => {
    const tampered = [...chainA];
    const target = chainA[2] as AuditEntry;
    tampered[2] = { ...target, body: utf8(text(target.body).replace('fixture', 'fixturE')) };
    expect(verifyAuditChain(tampered).firstBreak).toMatchObject({ kind: 'ALTERED', objectKey: target.key });
  });

  it('reports ALTERED at the record when it was rewritten consistently and canonically', () => {
    const tampered = [...chainA];
    const target = chainA[4] as AuditEntry; // ACTIVE → RETIRED
    tampered[4] = rewrite(target, (r) => {
      const who = 'cli:mallory';
      r.changedBy = who;
      (r.newImage as Record<string, unknown>).changedBy = who;
      (r.event as Record<string, unknown>).changedBy = who;
    });
    // The record is self-consistent, so only its successor's link can tell.
    expect(verifyAuditChain(tampered.slice(0, 5)).ok).toBe(true);
    expect(verifyAuditChain(tampered).firstBreak).toMatchObject({ kind: 'ALTERED', objectKey: target.key });
  });

  it('reports ALTERED when a record announces an event its images do not show', () => {
    const tampered = [...chainA];
    tampered[4] = rewrite(chainA[4] as AuditEntry, (r) => {
      (r.event as Record<string, unknown>).type = 'key.revoked';
    });
    expect(verifyAuditChain(tampered).firstBreak).toMatchObject({
      kind: 'ALTERED',
      objectKey: chainA[4]?.key,
    });
  });

  it('reports ALTERED when a record was moved under another object key', () => {
    const moved = [...chainA];
    const target = chainA[2] as AuditEntry;
    moved[2] = { ...target, key: target.key.replace('_2030-', '_2031-') };
    expect(verifyAuditChain(moved).firstBreak).toMatchObject({ kind: 'ALTERED', objectKey: moved[2]?.key });
  });

  it('reports REORDERED when two records of a key are given out of stream order', () => {
    const swapped = [...chainA];
    [swapped[2], swapped[3]] = [chainA[3] as AuditEntry, chainA[2] as AuditEntry];
    expect(verifyAuditChain(swapped).firstBreak).toMatchObject({
      kind: 'REORDERED',
      objectKey: chainA[3]?.key,
    });
  });

  it('reports MALFORMED when an object is not an audit record', () => {
    const broken = [...chainA];
    broken[1] = { ...(chainA[1] as AuditEntry), body: utf8('{"not":"a record"') };
    expect(verifyAuditChain(broken).firstBreak).toMatchObject({ kind: 'MALFORMED', keyRef: 'key-a' });
  });

  it('reports the first break in input order when several chains are broken', () => {
    const bChain = entries.filter((e) => e.record?.keyRef === 'key-b');
    const input = [...chainA.filter((_, i) => i !== 5), ...bChain.filter((_, i) => i !== 2)];
    expect(verifyAuditChain(input).firstBreak).toMatchObject({ keyRef: 'key-a', objectKey: chainA[6]?.key });
  });
});
