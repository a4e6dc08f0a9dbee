import { reconcilerEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import { sql } from 'kysely';
import { jsonb, type PodsDb } from '../../db.ts';
import { eventsOf } from '../../events-of.ts';
import { unreachable } from '../../never.ts';

/**
 * What the reconciler did to each pod, from RECONCILER:
 * - `pod_actions`: the last action and how it went (a failed one on the current generation makes the pod failed);
 * - `pod_recoveries`: successful actions that healed a crash or a failed health check, per generation (the pod's
 *   restarts; an operator's `pod restart` is no recovery and does not count);
 * - `pod_failing`: a pod marked failing (PodFailing) until it recovers (PodRecovered).
 */
export const podActionsProjection: Projection<PodsDb> = {
  name: 'pod_actions',
  context: 'reconciler',
  async apply(tx, stored) {
    for (const event of eventsOf(reconcilerEvents, stored)) {
      const { tenantId, podId, generation } = event.data;
      const pod = { tenant_id: tenantId, pod_id: podId };
      switch (event.type) {
        case 'PodActionSucceeded':
        case 'PodActionFailed': {
          const failed = event.type === 'PodActionFailed' ? event.data.error : null;
          const row = {
            generation,
            action: event.data.action,
            ok: failed === null,
            error: jsonb(failed && { code: failed.code, message: failed.message }),
            occurred_at: event.occurredAt,
          };
          await tx
            .insertInto('pod_actions')
            .values({ ...pod, ...row })
            .onConflict((c) => c.columns(['tenant_id', 'pod_id']).doUpdateSet(row))
            .execute();
          if (event.type === 'PodActionSucceeded' && event.data.recovery !== null) {
            await tx
              .insertInto('pod_recoveries')
              .values({ ...pod, generation, recoveries: 1 })
              .onConflict((c) =>
                c
                  .columns(['tenant_id', 'pod_id', 'generation'])
                  .doUpdateSet({ recoveries: sql<number>`pod_recoveries.recoveries + 1` }),
              )
              .execute();
          }
          break;
        }
        case 'PodFailing': {
          const { reason, failures, summary } = event.data;
          // A pod marked failing again while it still is keeps the time it began failing.
          const row = { generation, reason, failures, summary };
          await tx
            .insertInto('pod_failing')
            .values({ ...pod, ...row, since: event.occurredAt })
            .onConflict((c) => c.columns(['tenant_id', 'pod_id']).doUpdateSet(row))
            .execute();
          break;
        }
        case 'PodRecovered':
          await tx.deleteFrom('pod_failing').where('tenant_id', '=', tenantId).where('pod_id', '=', podId).execute();
          break;
        default:
          unreachable(event);
      }
    }
  },
};
