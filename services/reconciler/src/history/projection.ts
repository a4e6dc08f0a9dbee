import { type EnvelopeOf, type EventEnvelope, reconcilerEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { Transaction } from 'kysely';
import { jsonb } from '../changes.ts';
import type { ReconcilerDb } from '../db.ts';
import { STARTS_PROCESS } from '../plan/model.ts';

/*
 * RECONCILER → `pod_history`: what the reconciler last did to each pod and how it went, the planner's memory. It
 * lives in the log, not in one process, so whichever instance acts next knows about failures and about the
 * restart request or deletion an earlier action carried out (the outcome event's causation id names it).
 */

type ReconcilerEvent = EnvelopeOf<typeof reconcilerEvents>;
type Tx = Transaction<ReconcilerDb>;

function asReconcilerEvent(envelope: EventEnvelope): ReconcilerEvent | undefined {
  const schema = reconcilerEvents[envelope.type as keyof typeof reconcilerEvents];
  const data = schema?.safeParse(envelope.data);
  return data?.success ? ({ ...envelope, data: data.data } as ReconcilerEvent) : undefined;
}

async function applyOne(tx: Tx, event: ReconcilerEvent): Promise<void> {
  const { tenantId, podId, nodeId, generation, action } = event.data;
  const before = await tx
    .selectFrom('pod_history')
    .select(['failures', 'restart_honoured', 'removal_done'])
    .where('tenant_id', '=', tenantId)
    .where('pod_id', '=', podId)
    .executeTakeFirst();
  const common = { node_id: nodeId, last_action: action, last_generation: generation, last_at: event.occurredAt };
  let changes: typeof common & {
    last_ok: boolean;
    last_error: ReturnType<typeof jsonb> | null;
    failures: number;
    restart_honoured: string | null;
    removal_done: string | null;
  };
  switch (event.type) {
    case 'PodActionSucceeded':
      changes = {
        ...common,
        last_ok: true,
        last_error: null,
        failures: 0,
        restart_honoured: STARTS_PROCESS.has(action) ? event.causationId : (before?.restart_honoured ?? null),
        removal_done: action === 'remove' ? event.causationId : (before?.removal_done ?? null),
      };
      break;
    case 'PodActionFailed':
      changes = {
        ...common,
        last_ok: false,
        last_error: jsonb(event.data.error),
        failures: (before?.failures ?? 0) + 1,
        restart_honoured: before?.restart_honoured ?? null,
        removal_done: before?.removal_done ?? null,
      };
      break;
    default: {
      const unknown: never = event;
      throw new Error(`unhandled reconciler event ${(unknown as ReconcilerEvent).type}`);
    }
  }
  await tx
    .insertInto('pod_history')
    .values({ tenant_id: tenantId, pod_id: podId, ...changes })
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
