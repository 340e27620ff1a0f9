/**
 * The publish handler: a DynamoDB Stream batch in, one publication out.
 *
 * It never applies stream deltas. Each record is only a wake-up call: the Powertools batch processor
 * validates records one by one (a malformed one becomes a batch item failure, so Lambda retries from
 * it and finally hands it to the on-failure destination), and if any well-formed registry record is
 * in the batch the publisher re-reads the whole registry once and converges. Duplicated, reordered or
 * replayed records therefore change nothing.
 *
 * It also takes an operator's `publish` (`jwks publish --stack`, src/operator/action.ts): the same
 * publication the CLI runs locally (with `force` after a restore), with this function's clock.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { TABLE } from '../constants.ts';
import { jwksPublishedEvent } from '../core/events.ts';
import { publishDiscovery } from '../discovery-publisher.ts';
import { MalformedRecordError } from '../errors.ts';
import type { EventBus } from '../events/ports.ts';
import { answer, isOperatorEvent, type OperatorEvent, type OperatorResponse } from '../operator/action.ts';
import { publishAction } from '../operator/run.ts';
import type { Clock, Log } from '../ports.ts';
import { silentLog } from '../ports.ts';
import { type PublishDeps, type PublishResult, publishJwks } from '../publisher.ts';
import { METRIC_NAMES, type MetricsSink } from './rotate-handler.ts';

const EVENT_NAMES = new Set(['INSERT', 'MODIFY', 'REMOVE']);

/** Whether the record is a well-formed stream record of a registry item; throws when malformed. */
export function isRegistryRecord(record: DynamoDBRecord): boolean {
  const keys = record.dynamodb?.Keys;
  const pk = keys?.[TABLE.PARTITION_KEY]?.S;
  const sk = keys?.[TABLE.SORT_KEY]?.S;
  if (
    !record.eventName ||
    !EVENT_NAMES.has(record.eventName) ||
    !pk ||
    !sk ||
    !record.dynamodb?.SequenceNumber
  ) {
    throw new MalformedRecordError(
      `stream record ${record.eventID ?? '(no eventID)'} is not a registry change`,
    );
  }
  if (record.eventName !== 'REMOVE' && !record.dynamodb.NewImage) {
    throw new MalformedRecordError(`stream record ${record.eventID ?? '(no eventID)'} has no NewImage`);
  }
  return pk === TABLE.REGISTRY_PARTITION;
}

export interface PublishHandlerDeps extends PublishDeps {
  readonly clock?: Clock;
  readonly log?: Log;
  /** When set, the discovery documents for this issuer are published next to the JWKS. */
  readonly issuer?: string;
  /** When set, a `jwks.published` event goes to this bus after every changed write (design §6). */
  readonly events?: { readonly bus: EventBus; readonly jwksUri: string };
  /** `UnverifiedKeys` per publication: records left out because the vault does not back them. */
  readonly metrics?: MetricsSink;
}

export interface PublishHandler {
  (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse>;
  (event: OperatorEvent): Promise<OperatorResponse>;
}

export function createPublishHandler(deps: PublishHandlerDeps): PublishHandler {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? silentLog;
  // The discovery documents depend only on the issuer and the policy, fixed for this container: once
  // they are published (or found current), later batches skip their two HEADs.
  let discoveryCurrent = false;
  /**
   * After every publication: `UnverifiedKeys` (0 included, so the alarm tells "none" from "no data"),
   * then, after a changed write, `jwks.published` (design §6) when the stack has a topic.
   */
  const report = async (result: PublishResult): Promise<void> => {
    deps.metrics?.addMetric(METRIC_NAMES.UNVERIFIED_KEYS, 'Count', result.unverified.length);
    deps.metrics?.publishStoredMetrics();
    if (!result.written || !deps.events) return;
    const published = jwksPublishedEvent({ ...result, at: clock(), jwksUri: deps.events.jwksUri });
    try {
      await deps.events.bus.publish(published);
    } catch (err) {
      // A notification, not the publication: the JWKS is out and the CDN invalidated, and retrying
      // the batch would find the bytes unchanged. The per-key events carry every change anyway.
      log.error('jwks.published event not delivered', { id: published.id, error: err });
    }
  };

  const operatorAction = (event: unknown): Promise<OperatorResponse> =>
    answer(log, event, ['publish'], async (action) => {
      const force = action.action === 'publish' && action.force === true;
      const { published, ...outcome } = await publishAction({ ...deps, log }, force, clock());
      await report(published);
      if (deps.issuer !== undefined) discoveryCurrent = true;
      return outcome;
    });

  const batch = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    let registryChanges = 0;
    const response = await processPartialResponse(
      event,
      async (record: DynamoDBRecord) => {
        if (isRegistryRecord(record)) registryChanges += 1;
      },
      processor,
      // A batch of only malformed records is reported item by item, not thrown, so Lambda's
      // bisect/retry/on-failure machinery sees exactly which records are bad.
      { throwOnFullBatchFailure: false },
    );
    for (const failure of response.batchItemFailures) {
      log.error('malformed stream record', { itemIdentifier: failure.itemIdentifier });
    }
    if (registryChanges > 0) {
      // A failure here throws: the whole batch is retried, because nothing was published.
      const result = await publishJwks({ ...deps, log }, clock());
      log.info('published', { ...result, records: event.Records.length });
      await report(result);
      if (deps.issuer !== undefined && !discoveryCurrent) {
        await publishDiscovery({ ...deps, issuer: deps.issuer, log });
        discoveryCurrent = true;
      }
    }
    return response;
  };

  return (async (event: unknown) =>
    isOperatorEvent(event) ? operatorAction(event) : batch(event as DynamoDBStreamEvent)) as PublishHandler;
}
