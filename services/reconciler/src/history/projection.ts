import { type EnvelopeOf, type EventEnvelope, reconcilerEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { Transaction, Updateable } from 'kysely';
import { jsonb } from '../changes.ts';
import type { PodHistoryTable, ReconcilerDb } from '../db.ts';
import { STARTS_PROCESS } from '../plan/model.ts';

/*
 * RECONCILER → `pod_history`: what the reconciler last did to each pod and how it went, the planner's memory. It
 * lives in the log, not in one process, so whichever instance acts next knows about failures, the crash streak
 * (the latest recovery, succeeded or not, until PodRecovered ends the streak), whether the pod is marked failing,
 * and the restart request or deletion an earlier action carried out (the outcome event's causation id names it).
 */

type ReconcilerEvent = EnvelopeOf<typeof reconcilerEvents>;
type Tx = Transaction<ReconcilerDb>;
type Changes = Omit<Updateable<PodHistoryTable>, 'tenant_id' | 'pod_id'>;

function asReconcilerEvent(envelope: EventEnvelope): ReconcilerEvent | undefined {
  const schema = reconcilerEvents[envelope.type as keyof typeof reconcilerEvents];
  const data = schema?.safeParse(envelope.data);
  return data?.success ? ({ ...envelope, data: data.data } as ReconcilerEvent) : undefined;
}

/** The streak columns after an action outcome: a recovery becomes the streak's latest, anything else leaves it. */
function streak(event: Extract<ReconcilerEvent, { type: 'PodActionSucceeded' | 'PodActionFailed' }>): Changes {
  const { recovery } = event.data;
  if (!recovery) return { last_recovery: false };
  return {
    last_recovery: true,
    recovery_reason: recovery.reason,
    recovery_attempt: recovery.attempt,
    recovery_at: event.occurredAt,
  };
}

async function applyOne(tx: Tx, event: ReconcilerEvent): Promise<void> {
  const { tenantId, podId, nodeId, generation } = event.data;
  const before = await tx
    .selectFrom('pod_history')
    .select(['failures', 'restart_honoured', 'removal_done'])
    .where('tenant_id', '=', tenantId)
    .where('pod_id', '=', podId)
    .executeTakeFirst();
  let changes: Changes;
  switch (event.type) {
    case 'PodActionSucceeded': {
      const { action } = event.data;
      changes = {
        node_id: nodeId,
        last_action: action,
        last_generation: generation,
        last_at: event.occurredAt,
        last_ok: true,
        last_error: null,
        failures: 0,
        restart_honoured: STARTS_PROCESS.has(action) ? event.causationId : (before?.restart_honoured ?? null),
        removal_done: action === 'remove' ? event.causationId : (before?.removal_done ?? null),
        ...streak(event),
      };
      break;
    }
    case 'PodActionFailed':
      changes = {
        node_id: nodeId,
        last_action: event.data.action,
        last_generation: generation,
        last_at: event.occurredAt,
        last_ok: false,
        last_error: jsonb(event.data.error),
        failures: (before?.failures ?? 0) + 1,
        ...streak(event),
      };
      break;
    case 'PodFailing':
      changes = { node_id: nodeId, failing_generation: generation, failing_since: event.occurredAt };
      break;
    case 'PodRecovered':
      // The streak ends with the failing mark: the next crash is a first one again.
      changes = {
        node_id: nodeId,
        failing_generation: null,
        failing_since: null,
        recovery_reason: null,
        recovery_attempt: null,
        recovery_at: null,
      };
      break;
    default: {
      const unknown: never = event;
      throw new Error(`unhandled reconciler event ${(unknown as ReconcilerEvent).type}`);
    }
  }
  await tx
    .insertInto('pod_history')
    .values({ tenant_id: tenantId, pod_id: podId, node_id: nodeId, failures: 0, last_recovery: false, ...changes })
    .onConflict((c) => c.columns(['tenant_id', 'pod_id']).doUpdateSet(changes))
    .execute();
}

export const historyProjection: Projection<ReconcilerDb> = {
  name: 'pod_history',
  context: 'reconciler',
  async apply(tx, events) {
    for (const { envelope } of events) {
      const event = asReconcilerEvent(envelope);
      if (event) await applyOne(tx, event);
    }
  },
};
