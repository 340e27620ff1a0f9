/**
 * The seams of the events consumer (design §6), kept beside it rather than in src/ports.ts: only the
 * events handler and its wiring use them.
 */
import type { BusEvent, KeyChange, KeyLifecycleEvent } from '../core/events.ts';

/** Where lifecycle events go: SNS in AWS and locally (fauxqs), plus console and webhook sinks locally. */
export interface EventBus {
  /**
   * Deliver one event; resolves once the sink has accepted it. At-least-once: a retried stream record
   * publishes again with the same `id`, and subscribers de-duplicate on it.
   */
  publish(event: BusEvent): Promise<void>;
}

export interface AuditAppendResult {
  /** The object key of the record (whether written now or found written). */
  readonly key: string;
  /** false: the record was already there (a redelivered or replayed stream record). */
  readonly written: boolean;
}

/** The audit trail: one immutable record per stream record of a key item. */
export interface AuditWriter {
  /** Idempotent per stream record: appending the same change twice writes one object. */
  append(change: KeyChange, event: KeyLifecycleEvent | null): Promise<AuditAppendResult>;
}
