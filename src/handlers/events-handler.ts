/**
 * The events handler: the registry stream's second consumer (design §6). For every stream record of a
 * key item it writes the audit record, then publishes the lifecycle event (if the status changed).
 * The STATE item and non-registry items are ignored.
 *
 * Audit first: a record whose audit write failed is retried before its event goes out, so the trail
 * never misses a change subscribers were told about. Both steps are idempotent per stream record (the
 * audit object key and the event id come from the record), so Lambda's retries of a partially failed
 * batch duplicate nothing but SNS deliveries that carry the same id.
 *
 * Records are processed one at a time, in stream order: ordering is promised per key, and the audit
 * chain links each record to the previous one of its key. Once a record of a key fails, the key's later
 * records in the batch are failed without being processed, so nothing overtakes it (Lambda retries from
 * the first failure and redelivers them); other keys go on. A malformed record is a batch item failure.
 * @see https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { METRICS, TABLE } from '../constants.ts';
import { lifecycleEventOf } from '../core/events.ts';
import { JwksError } from '../errors.ts';
import type { AuditWriter, EventBus } from '../events/ports.ts';
import { keyChangeFromRecord } from '../events/stream-change.ts';
import { type Clock, type Log, silentLog } from '../ports.ts';

export interface EventsHandlerDeps {
  readonly bus: EventBus;
  readonly audit: AuditWriter;
  /** The published JWKS URL, carried in every event so subscribers know what to refetch. */
  readonly jwksUri: string;
  /** Used only to report how far behind the stream the handler runs. */
  readonly clock?: Clock;
  readonly log?: Log;
  /**
   * Counts the records reported as failed (`RecordsFailed`): with partial batch responses a failed
   * record is no Lambda error, so without this only lag would show it (an alarm reads it).
   */
  readonly metrics?: {
    addMetric(name: string, unit: 'Count', value: number): void;
    publishStoredMetrics(): void;
  };
}

export type EventsHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

/** A later record of a key whose earlier record failed in this batch: failed unprocessed, to keep order. */
export class HeldBackError extends Error {
  constructor(item: string) {
    super(`held back behind an earlier failed record of ${item}`);
    this.name = 'HeldBackError';
  }
}

/** The item a record belongs to (`pk/sk`), when its Keys are readable. */
function itemOf(record: DynamoDBRecord): string | undefined {
  const keys = record.dynamodb?.Keys;
  const pk = keys?.[TABLE.PARTITION_KEY]?.S;
  const sk = keys?.[TABLE.SORT_KEY]?.S;
  return pk !== undefined && sk !== undefined ? `${pk}/${sk}` : undefined;
}

const codeOf = (err: unknown): string =>
  err instanceof JwksError ? err.code : err instanceof Error ? err.name : 'UNKNOWN';

export function createEventsHandler(deps: EventsHandlerDeps): EventsHandler {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? silentLog;

  async function handle(record: DynamoDBRecord): Promise<void> {
    const change = keyChangeFromRecord(record);
    if (!change) return;
    const event = lifecycleEventOf(change, deps.jwksUri);
    const audit = await deps.audit.append(change, event);
    if (event) await deps.bus.publish(event);
    log.info('key change', {
      eventId: change.eventId,
      keyRef: change.keyRef,
      kid: change.newRecord?.kid ?? change.oldRecord?.kid,
      type: event?.type ?? null,
      auditKey: audit.key,
      auditWritten: audit.written,
      lagMs: clock() - change.approximateCreationTime,
    });
  }

  return async (streamEvent) => {
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    const failedItems = new Set<string>();
    const response = await processPartialResponse(
      streamEvent,
      async (record: DynamoDBRecord) => {
        const item = itemOf(record);
        if (item !== undefined && failedItems.has(item)) throw new HeldBackError(item);
        try {
          await handle(record);
        } catch (err) {
          if (item !== undefined) failedItems.add(item);
          log.error('stream record failed', {
            eventId: record.eventID,
            sequenceNumber: record.dynamodb?.SequenceNumber,
            code: codeOf(err),
            message: err instanceof Error ? err.message : String(err),
          });
          throw err;
        }
      },
      processor,
      // Sequential (per-key order and the audit chain depend on it); a batch of only bad records is
      // reported item by item, so Lambda's bisect/retry/on-failure settings see exactly which.
      { processInParallel: false, throwOnFullBatchFailure: false },
    );
    deps.metrics?.addMetric(METRICS.RECORDS_FAILED, 'Count', response.batchItemFailures.length);
    deps.metrics?.publishStoredMetrics();
    return response;
  };
}
