import {
  EventEnvelope,
  eventSubject,
  podAggregateId,
  type RequestMeta,
  reconcilerEvents,
  streamName,
} from '@agentpod/contracts';
import { type AggregatePosition, ConcurrencyError, EMPTY_POSITION, type EventStore } from '@agentpod/kit';
import type { JetStreamManager } from '@nats-io/jetstream';
import { type PlannedAction, recordedAction } from '../plan/model.ts';
import type { Outcome } from './applier.ts';

/*
 * Records each action's outcome as PodActionSucceeded / PodActionFailed on `reconciler.evt.pod_<tenant>_<pod>`.
 * One instance acts at a time, so the positions of recently used pods are kept in memory; a conflict (another
 * instance acted since, after a takeover) reloads the position from the stream and appends again.
 */

const POSITIONS_KEPT = 20_000;
const ATTEMPTS = 3;

export class OutcomeRecorder {
  readonly #positions = new Map<string, AggregatePosition>();
  readonly #store: EventStore;
  readonly #jsm: JetStreamManager;

  constructor(store: EventStore, jsm: JetStreamManager) {
    this.#store = store;
    this.#jsm = jsm;
  }

  /**
   * Appends the outcome; its causation id is the event the action carried out (`action.cause`), which is how the
   * history knows a restart request or a deletion was honoured. Returns the event's stream sequence, or null when
   * the action names no valid pod (an orphan with hand-written labels: nothing to record it under).
   */
  async record(action: PlannedAction, outcome: Outcome, meta: RequestMeta, now: Date): Promise<number | null> {
    const base = {
      tenantId: action.tenantId,
      podId: action.podId,
      nodeId: action.nodeId,
      generation: action.generation,
      action: recordedAction(action.kind),
    };
    const event = outcome.ok
      ? reconcilerEvents.PodActionSucceeded.safeParse({ ...base, containerId: outcome.containerId })
      : reconcilerEvents.PodActionFailed.safeParse({ ...base, error: outcome.error });
    if (!event.success) return null;
    const type = outcome.ok ? 'PodActionSucceeded' : 'PodActionFailed';
    const aggregateId = podAggregateId(action.tenantId, action.podId);
    const appendMeta = { ...meta, tenantId: action.tenantId, causationId: action.cause ?? meta.correlationId };
    for (let attempt = 1; ; attempt++) {
      const expected = await this.#position(aggregateId);
      try {
        const { position } = await this.#store.append(
          'reconciler',
          aggregateId,
          [{ type, data: event.data, tenantId: action.tenantId }],
          { expected, meta: appendMeta, now },
        );
        this.#remember(aggregateId, position);
        return position.seq;
      } catch (error) {
        this.#positions.delete(aggregateId);
        if (!(error instanceof ConcurrencyError) || attempt >= ATTEMPTS) throw error;
      }
    }
  }

  async #position(aggregateId: string): Promise<AggregatePosition> {
    const known = this.#positions.get(aggregateId);
    if (known) return known;
    const last = await this.#jsm.direct.getMessage(streamName('reconciler'), {
      last_by_subj: eventSubject('reconciler', aggregateId),
    });
    return last ? { version: EventEnvelope.parse(last.json()).version, seq: last.seq } : EMPTY_POSITION;
  }

  #remember(aggregateId: string, position: AggregatePosition): void {
    this.#positions.delete(aggregateId);
    this.#positions.set(aggregateId, position);
    if (this.#positions.size > POSITIONS_KEPT) {
      const oldest = this.#positions.keys().next().value;
      if (oldest !== undefined) this.#positions.delete(oldest);
    }
  }
}
