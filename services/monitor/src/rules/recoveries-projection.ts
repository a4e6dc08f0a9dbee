import { reconcilerEvents } from '@agentpod/contracts';
import { eventsOf, type Projection } from '@agentpod/kit';
import type { MonitorDb } from '../db.ts';

/*
 * `pod_recoveries`: the reconciler's recoveries (a crash healed, an unhealthy pod restarted), which `restarts`
 * rules count alongside Docker's own restarts. Rows older than a day before the newest event of the pod are
 * dropped as events arrive: only the stream's order decides, so a replay keeps exactly the same rows.
 */

const KEEP_MS = 86_400_000;
const schemas = { PodActionSucceeded: reconcilerEvents.PodActionSucceeded };

export const recoveriesProjection: Projection<MonitorDb> = {
  name: 'alert_recoveries',
  context: 'reconciler',
  async apply(tx, stored) {
    for (const event of eventsOf(schemas, stored)) {
      if (event.data.recovery === null) continue;
      const { tenantId, podId } = event.data;
      await tx
        .insertInto('pod_recoveries')
        .values({ event_id: event.id, tenant_id: tenantId, pod_id: podId, at: event.occurredAt })
        .onConflict((c) => c.column('event_id').doNothing())
        .execute();
      await tx
        .deleteFrom('pod_recoveries')
        .where('tenant_id', '=', tenantId)
        .where('pod_id', '=', podId)
        .where('at', '<', new Date(Date.parse(event.occurredAt) - KEEP_MS))
        .execute();
    }
  },
};
