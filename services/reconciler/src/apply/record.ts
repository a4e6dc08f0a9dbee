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
 * Records each action's outcome as PodActionSucceeded / PodActionFailed (with the recovery a start or restart
 * made), and the marks as PodFailing / PodRecovered, on `reconciler.evt.pod_<tenant>_<pod>`.
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
   * Appends the outcome (a mark has nothing to fail: it is recorded as what it marks); its causation id is the
   * event the action carried out (`action.cause`), which is how the history knows a restart request or a deletion
   * was honoured. Returns the event's stream sequence, or null when the action names no valid pod (an orphan with
   * hand-written labels: nothing to record it under).
   */
  async record(action: PlannedAction, outcome: Outcome, meta: RequestMeta, now: Date): Promise<number | null> {
    const recorded = outcomeEvent(action, outcome);
    if (!recorded) return null;
    const { type, data } = recorded;
    const aggregateId = podAggregateId(action.tenantId, action.podId);
    const appendMeta = { ...meta, tenantId: action.tenantId, causationId: action.cause ?? meta.correlationId };
    for (let attempt = 1; ; attempt++) {
      const expected = await this.#position(aggregateId);
      try {
        const { position } = await this.#store.append(
          'reconciler',
          aggregateId,
          [{ type, data, tenantId: action.tenantId }],
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

type Recorded = { type: keyof typeof reconcilerEvents; data: unknown };

/** The event recording an action's outcome, or null when it names no valid pod (hand-written labels). */
function outcomeEvent(action: PlannedAction, outcome: Outcome): Recorded | null {
  const target = {
    tenantId: action.tenantId,
    podId: action.podId,
    nodeId: action.nodeId,
    generation: action.generation,
  };
  const parsed = <K extends keyof typeof reconcilerEvents>(type: K, data: unknown): Recorded | null => {
    const event = reconcilerEvents[type].safeParse(data);
    return event.success ? { type, data: event.data } : null;
  };
  if (action.kind === 'markFailing') {
    const { reason, failures, exitCode, lastError, summary } = action;
    return parsed('PodFailing', { ...target, reason, failures, exitCode, lastError, summary });
  }
  if (action.kind === 'markRecovered') return parsed('PodRecovered', target);
  const base = {
    ...target,
    action: recordedAction(action.kind),
    recovery: action.kind === 'start' || action.kind === 'restart' ? action.recovery : null,
  };
  return outcome.ok
    ? parsed('PodActionSucceeded', { ...base, containerId: outcome.containerId })
    : parsed('PodActionFailed', { ...base, error: outcome.error });
}
