import {
  AppError,
  type Context,
  EventEnvelope,
  eventSubject,
  type NewEvent,
  newId,
  type RequestMeta,
  streamName,
} from '@agentpod/contracts';
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { injectTraceHeaders } from './telemetry.ts';

/** An event as stored: its envelope and its sequence in the context's stream. */
export type StoredEvent = { envelope: EventEnvelope; seq: number };

/** Where an aggregate stands in the log: its version (event count) and the stream sequence of its last event. */
export type AggregatePosition = { version: number; seq: number };

export const EMPTY_POSITION: AggregatePosition = { version: 0, seq: 0 };

/** Thrown when another writer appended to the aggregate since it was read. Callers reload and decide again. */
export class ConcurrencyError extends AppError {
  constructor(subject: string, cause?: unknown) {
    super('conflict', `another change to ${subject} was stored first`, { cause });
    this.name = 'ConcurrencyError';
  }
}

export type AppendOptions = {
  /** The position the decision was taken on; the append fails with ConcurrencyError if the log moved. */
  expected: AggregatePosition;
  meta: RequestMeta;
  /** Decision time; every event of one append shares it. */
  now: Date;
  /** Event ids, one per event; generated when absent. Passing them makes a retried append idempotent. */
  ids?: string[];
};

const isWrongLastSequence = (error: unknown): boolean =>
  error instanceof JetStreamApiError &&
  (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
    error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/**
 * The event log of every context on JetStream. One subject per aggregate; optimistic concurrency through
 * `Nats-Expected-Last-Subject-Sequence`, idempotent publishes through `Nats-Msg-Id` = event id.
 */
export class EventStore {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;

  constructor(js: JetStreamClient, jsm: JetStreamManager) {
    this.#js = js;
    this.#jsm = jsm;
  }

  /**
   * Appends `events` to one aggregate, each after the other, each conditional on the previous one.
   * NATS 2.9 has no atomic multi-message publish, so a crash between two events of one append can store a
   * prefix; deciders therefore keep each event a complete fact on its own.
   */
  async append(
    context: Context,
    aggregateId: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<{ position: AggregatePosition; stored: StoredEvent[] }> {
    const subject = eventSubject(context, aggregateId);
    let position = options.expected;
    const stored: StoredEvent[] = [];
    for (const [index, event] of events.entries()) {
      const envelope: EventEnvelope = {
        id: options.ids?.[index] ?? newId(),
        type: event.type,
        aggregateId,
        ...(event.tenantId !== undefined || options.meta.tenantId !== undefined
          ? { tenantId: event.tenantId ?? options.meta.tenantId }
          : {}),
        actor: options.meta.actor,
        occurredAt: options.now.toISOString(),
        correlationId: options.meta.correlationId,
        causationId: options.meta.causationId ?? options.meta.correlationId,
        version: position.version + 1,
        data: event.data,
      };
      const headers = natsHeaders();
      injectTraceHeaders(headers);
      try {
        const ack = await this.#js.publish(subject, JSON.stringify(envelope), {
          msgID: envelope.id,
          expect: { lastSubjectSequence: position.seq },
          headers,
        });
        position = { version: envelope.version, seq: ack.seq };
        stored.push({ envelope, seq: ack.seq });
      } catch (error) {
        if (isWrongLastSequence(error)) throw new ConcurrencyError(subject, error);
        throw new AppError('unavailable', `could not store ${event.type} on ${subject}`, { cause: error });
      }
    }
    return { position, stored };
  }

  /** Stream sequence of the aggregate's last event, 0 when it has none. */
  async lastSequence(context: Context, aggregateId: string): Promise<number> {
    const message = await this.#jsm.direct.getMessage(streamName(context), {
      last_by_subj: eventSubject(context, aggregateId),
    });
    return message?.seq ?? 0;
  }

  /**
   * The aggregate's events after stream sequence `afterSeq`, in order. Uses direct gets (one round trip per
   * event): aggregates are short-lived streams of a few dozen events, and this creates no consumer.
   */
  async read(context: Context, aggregateId: string, afterSeq = 0): Promise<StoredEvent[]> {
    const stream = streamName(context);
    const subject = eventSubject(context, aggregateId);
    const last = await this.lastSequence(context, aggregateId);
    const events: StoredEvent[] = [];
    let next = afterSeq + 1;
    while (next <= last) {
      const message = await this.#jsm.direct.getMessage(stream, { seq: next, next_by_subj: subject });
      if (!message || message.seq > last) break;
      events.push({ envelope: EventEnvelope.parse(message.json()), seq: message.seq });
      next = message.seq + 1;
    }
    return events;
  }
}
