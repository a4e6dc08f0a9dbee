import { reconcilerEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import { jsonb, type PodsDb } from '../../db.ts';
import { eventsOf } from '../../events-of.ts';

/** `pod_actions`: the reconciler's last action on each pod and how it went, from RECONCILER. */
export const podActionsProjection: Projection<PodsDb> = {
  name: 'pod_actions',
  context: 'reconciler',
  async apply(tx, stored) {
    for (const event of eventsOf(reconcilerEvents, stored)) {
      const { tenantId, podId, generation, action } = event.data;
      const failed = event.type === 'PodActionFailed' ? event.data.error : null;
      const row = {
        generation,
        action,
        ok: failed === null,
        error: jsonb(failed && { code: failed.code, message: failed.message }),
        occurred_at: event.occurredAt,
      };
      await tx
        .insertInto('pod_actions')
        .values({ tenant_id: tenantId, pod_id: podId, ...row })
        .onConflict((c) => c.columns(['tenant_id', 'pod_id']).doUpdateSet(row))
        .execute();
    }
  },
};
