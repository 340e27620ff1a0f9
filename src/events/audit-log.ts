/**
 * The audit trail over the ObjectStore port (S3 with Object Lock in AWS, s3rver locally). Layout and
 * record format: src/core/audit.ts; chain checks: audit-chain.ts.
 *
 * Writes are idempotent per stream record, twice over: the object key is fixed by the record, so a
 * redelivery first finds the object and writes nothing (s3rver ignores `If-None-Match`, so this check is
 * what protects the local stack), and the write itself carries `If-None-Match: *`, so on S3 a racing
 * duplicate gets 412 instead of a second version. Each write sends its SHA-256 (Object Lock requires a
 * checksum; S3 also verifies the bytes with it).
 * @see https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html
 */
import { HEADERS, OBJECT_METADATA } from '../constants.ts';
import {
  AUDIT_PREFIX,
  type AuditRecord,
  auditKeyPrefix,
  auditObjectKey,
  buildAuditRecord,
  parseAuditObjectKey,
  serializeAuditRecord,
  sha256Base64,
  sha256Hex,
} from '../core/audit.ts';
import type { KeyChange, KeyLifecycleEvent } from '../core/events.ts';
import { JwksError, PreconditionFailedError } from '../errors.ts';
import type { ObjectStore } from '../ports.ts';
import { parseAuditRecord, type StoredAuditObject } from './audit-chain.ts';
import type { AuditAppendResult, AuditWriter } from './ports.ts';

export class AuditLog implements AuditWriter {
  readonly #store: ObjectStore;

  constructor(opts: { store: ObjectStore }) {
    this.#store = opts.store;
  }

  async append(change: KeyChange, event: KeyLifecycleEvent | null): Promise<AuditAppendResult> {
    const key = auditObjectKey(change);
    if (await this.#store.head(key)) return { key, written: false };
    const previousRecordSha256 = await this.#previousHash(change.keyRef, key);
    const body = serializeAuditRecord(buildAuditRecord(change, event, previousRecordSha256));
    try {
      await this.#store.put({
        key,
        body,
        contentType: HEADERS.JSON,
        ifNoneMatch: '*',
        checksumSha256: sha256Base64(body),
        metadata: { [OBJECT_METADATA.BODY_SHA256]: sha256Hex(body) },
      });
    } catch (err) {
      // 412: a concurrent delivery of the same record wrote it first. Same bytes, nothing to do.
      if (err instanceof PreconditionFailedError) return { key, written: false };
      throw err;
    }
    return { key, written: true };
  }

  /**
   * The hash of the key's latest record before this one. The stream delivers one item's records in
   * order and the handler processes them one at a time, so that record is the previous link.
   */
  async #previousHash(keyRef: string, key: string): Promise<string | null> {
    const earlier = (await this.#store.list(auditKeyPrefix(keyRef)))
      .filter((k) => k < key && parseAuditObjectKey(k) !== null)
      .sort();
    const previous = earlier.at(-1);
    if (previous === undefined) return null;
    const object = await this.#store.get(previous);
    if (!object) throw new JwksError('UPSTREAM', `audit object ${previous} was listed but cannot be read`);
    return sha256Hex(object.body);
  }
}

export interface AuditEntry extends StoredAuditObject {
  /** null when the bytes are not an audit record (verifyAuditChain reports it). */
  readonly record: AuditRecord | null;
}

export interface ReadAuditOptions {
  /** Only the chains of keys that have (or had) this kid. Whole chains, so they can be verified. */
  readonly kid?: string;
  /**
   * Only records from this instant (epoch ms) on. For listing: a chain cut this way starts mid-way,
   * so verify without it.
   */
  readonly since?: number;
  /** Concurrent GETs. Default 16. */
  readonly concurrency?: number;
}

/** Every audit record, grouped by key and in stream order within a key (sorted by object key). */
export async function readAudit(store: ObjectStore, opts: ReadAuditOptions = {}): Promise<AuditEntry[]> {
  const keys = (await store.list(AUDIT_PREFIX)).filter((k) => parseAuditObjectKey(k) !== null).sort();
  const entries = await mapLimit(keys, opts.concurrency ?? 16, async (key): Promise<AuditEntry> => {
    const object = await store.get(key);
    if (!object) throw new JwksError('UPSTREAM', `audit object ${key} was listed but cannot be read`);
    return { key, body: object.body, record: parseAuditRecord(object.body) };
  });
  let selected = entries;
  if (opts.kid !== undefined) {
    const keyRefs = new Set(entries.filter((e) => e.record?.kid === opts.kid).map((e) => e.record?.keyRef));
    selected = selected.filter((e) => keyRefs.has(parseAuditObjectKey(e.key)?.keyRef));
  }
  if (opts.since !== undefined) {
    const since = opts.since;
    // Unreadable records stay in: hiding them would hide tampering.
    selected = selected.filter((e) => !e.record || Date.parse(e.record.approximateCreationTime) >= since);
  }
  return selected;
}

/** Promise.all with at most `limit` in flight, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
