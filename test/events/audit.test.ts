import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  auditObjectKey,
  buildAuditRecord,
  canonicalJson,
  parseAuditObjectKey,
  publicImage,
  sha256Hex,
} from '../../src/core/audit.ts';
import { type KeyChange, lifecycleEventOf } from '../../src/core/events.ts';
import type { KeyRecord } from '../../src/core/types.ts';
import { hasCode } from '../../src/errors.ts';
import { verifyAuditChain } from '../../src/events/audit-chain.ts';
import { AuditLog, readAudit } from '../../src/events/audit-log.ts';
import { keyChangeFromRecord } from '../../src/events/stream-change.ts';
import { DAY, keyRecord, T0 } from '../support/fixtures.ts';
import { MemoryObjectStore } from '../support/memory.ts';
import { historyRecords, keyHistory } from './stream-fixtures.ts';

const JWKS_URI = 'https://issuer.example/.well-known/jwks.json';
const changesOf = (keyRef: string, start = T0): KeyChange[] =>
  historyRecords(keyHistory(keyRef, start), start).map((r) => keyChangeFromRecord(r) as KeyChange);

async function appendAll(log: AuditLog, changes: readonly KeyChange[]): Promise<void> {
  for (const c of changes) await log.append(c, lifecycleEventOf(c, JWKS_URI));
}

describe('canonicalJson', () => {
  it('gives the same text when members were inserted in another order', () => {
    const a = { b: 1, a: { y: [1, { d: true, c: null }], x: 's' } };
    const b = { a: { x: 's', y: [1, { c: null, d: true }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"s","y":[1,{"c":null,"d":true}]},"b":1}');
  });

  it('drops undefined members when serializing', () => {
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });

  it('refuses values it cannot serialize unambiguously when given a float, a Date or a bigint', () => {
    for (const bad of [1.5, new Date(0), 10n, Number.NaN]) {
      expect(() => canonicalJson({ v: bad })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

describe('auditObjectKey', () => {
  const base = changesOf('key-a')[0] as KeyChange;

  it('sorts keys of one key in numeric sequence order when sequence numbers differ in length', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 40n - 1n }),
        fc.bigInt({ min: 1n, max: 10n ** 40n - 1n }),
        (a, b) => {
          const ka = auditObjectKey({ ...base, sequenceNumber: a.toString() });
          const kb = auditObjectKey({ ...base, sequenceNumber: b.toString() });
          expect(ka < kb).toBe(a < b);
          expect(ka === kb).toBe(a === b);
        },
      ),
    );
  });

  it('puts the key first and the record date and event id in the name when built', () => {
    const key = auditObjectKey({ ...base, sequenceNumber: '123', approximateCreationTime: T0 + DAY + 5 });
    expect(key).toBe(`audit/key-a/${'123'.padStart(40, '0')}_2030-01-02_${base.eventId}.json`);
    expect(parseAuditObjectKey(key)).toEqual({
      keyRef: 'key-a',
      sequence: '123'.padStart(40, '0'),
      date: '2030-01-02',
      eventId: base.eventId,
    });
  });

  it('refuses path-breaking ids when the keyRef or event id holds a slash', () => {
    expect(() => auditObjectKey({ ...base, keyRef: '../x' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => auditObjectKey({ ...base, eventId: 'a/b' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('publicImage', () => {
  it('keeps only allow-listed fields and public JWK members when the record carries more', () => {
    const record = keyRecord('k1', 'ACTIVE');
    const smuggled = {
      ...record,
      privateKeyPem: '-----BEGIN PRIVATE KEY-----',
      clientSecretHash: 'x',
      publicJwk: { ...record.publicJwk, d: 'PRIVATE-D' },
    } as unknown as KeyRecord;
    const image = publicImage(smuggled);
    const text = JSON.stringify(image);
    expect(text).not.toContain('PRIVATE');
    expect(image).not.toHaveProperty('clientSecretHash');
    expect(image.publicJwk).toEqual(record.publicJwk);
    expect(image).toEqual(record);
  });
});

describe('AuditLog', () => {
  let store: MemoryObjectStore;
  let log: AuditLog;
  beforeEach(() => {
    store = new MemoryObjectStore();
    log = new AuditLog({ store });
  });

  it('links each record to the SHA-256 of the previous record of the same key when appended in order', async () => {
    const changes = changesOf('key-a');
    await appendAll(log, changes);
    const keys = await store.list('audit/key-a/');
    expect(keys).toHaveLength(changes.length);
    const records = keys.map((k) => JSON.parse(store.text(k) as string));
    expect(records[0].previousRecordSha256).toBeNull();
    for (let i = 1; i < records.length; i++) {
      const prevBytes = new TextEncoder().encode(store.text(keys[i - 1] as string));
      expect(records[i].previousRecordSha256).toBe(sha256Hex(prevBytes));
      expect(records[i].sequenceNumber).toBe(changes[i]?.sequenceNumber);
    }
  });

  it('stores canonical bytes with a SHA-256 checksum and If-None-Match when writing', async () => {
    const c = changesOf('key-a')[1] as KeyChange;
    const puts: unknown[] = [];
    store.beforePut = (input) => void puts.push(input);
    await log.append(c, lifecycleEventOf(c, JWKS_URI));
    const body = store.text(auditObjectKey(c)) as string;
    expect(body).toBe(canonicalJson(buildAuditRecord(c, lifecycleEventOf(c, JWKS_URI), null)));
    expect(puts).toEqual([
      expect.objectContaining({
        ifNoneMatch: '*',
        contentType: 'application/json',
        checksumSha256: Buffer.from(sha256Hex(new TextEncoder().encode(body)), 'hex').toString('base64'),
      }),
    ]);
  });

  it('writes nothing the second time when the same stream record is appended again', async () => {
    const changes = changesOf('key-a');
    await appendAll(log, changes);
    const before = store.puts.length;
    const again = await log.append(changes[2] as KeyChange, null);
    expect(again).toEqual({ key: auditObjectKey(changes[2] as KeyChange), written: false });
    expect(store.puts).toHaveLength(before);
  });

  it('treats a lost If-None-Match race as already written when another writer got there first', async () => {
    const c = changesOf('key-a')[0] as KeyChange;
    store.beforePut = async (input) => {
      store.beforePut = undefined;
      await store.put({ ...input }); // the concurrent duplicate delivery wins
    };
    await expect(log.append(c, null)).resolves.toEqual({ key: auditObjectKey(c), written: false });
    expect(store.puts).toHaveLength(1);
  });

  it('keeps per-key chains independent when two keys interleave', async () => {
    const a = changesOf('key-a');
    const b = changesOf('key-b', T0 + DAY);
    for (let i = 0; i < a.length; i++) await appendAll(log, [a[i] as KeyChange, b[i] as KeyChange]);
    const firstB = JSON.parse(store.text((await store.list('audit/key-b/'))[0] as string) as string);
    expect(firstB.previousRecordSha256).toBeNull();
    expect(verifyAuditChain(await readAudit(store))).toMatchObject({ ok: true, chains: 2 });
  });
});

describe('readAudit', () => {
  it('returns whole chains of the key that had the kid, and cuts by time when since is given', async () => {
    const store = new MemoryObjectStore();
    const log = new AuditLog({ store });
    await appendAll(log, changesOf('key-a'));
    await appendAll(log, changesOf('key-b', T0 + DAY));
    const all = await readAudit(store);
    expect(all.map((e) => e.key)).toEqual([...(await store.list('audit/'))].sort());

    const kidA = keyHistory('key-a')[1]?.kid as string;
    const onlyA = await readAudit(store, { kid: kidA });
    expect(onlyA.length).toBe(keyHistory('key-a').length);
    expect(onlyA.every((e) => e.record?.keyRef === 'key-a')).toBe(true);
    // The CREATING record has no kid yet but belongs to the chain.
    expect(onlyA[0]?.record?.kid).toBeNull();

    const recent = await readAudit(store, { since: T0 + DAY });
    expect(recent.map((e) => e.record?.keyRef)).toEqual(keyHistory('key-b').map(() => 'key-b'));
  });

  it('fails with UPSTREAM when a listed object cannot be read', async () => {
    const store = new MemoryObjectStore();
    await appendAll(new AuditLog({ store }), changesOf('key-a'));
    const listed = await store.list('audit/');
    store.list = async () => [
      ...listed,
      'audit/key-a/0000000000000000000000000000000000000009_2030-01-01_gone.json',
    ];
    await expect(readAudit(store)).rejects.toSatisfy((e) => hasCode(e, 'UPSTREAM'));
  });
});
