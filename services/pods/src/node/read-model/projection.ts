import { nodeEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import { jsonb, type PodsDb } from '../../db.ts';
import { eventsOf } from '../../events-of.ts';
import { unreachable } from '../../never.ts';

/** `nodes` and `placements`, from the node aggregates of PODS (name claims and pod events are skipped). */
export const nodesProjection: Projection<PodsDb> = {
  name: 'nodes',
  context: 'pods',
  async apply(tx, stored) {
    for (const event of eventsOf(nodeEvents, stored)) {
      const nodeId = event.aggregateId;
      switch (event.type) {
        case 'NodeAdded':
          await tx
            .insertInto('nodes')
            .values({
              id: nodeId,
              name: event.data.name,
              tenant_id: event.data.tenantId ?? null,
              created_at: event.occurredAt,
              removed_at: null,
            })
            .onConflict((c) => c.column('id').doNothing())
            .execute();
          break;
        case 'NodeRemoved':
          await tx.updateTable('nodes').set({ removed_at: event.occurredAt }).where('id', '=', nodeId).execute();
          break;
        case 'PodPlaced': {
          const { tenantId, podId, ports, memoryBytes, cpus } = event.data;
          const row = { ports: jsonb(ports), memory_bytes: memoryBytes, cpus, placed_at: event.occurredAt };
          await tx
            .insertInto('placements')
            .values({ node_id: nodeId, tenant_id: tenantId, pod_id: podId, ...row })
            .onConflict((c) => c.columns(['node_id', 'tenant_id', 'pod_id']).doUpdateSet(row))
            .execute();
          break;
        }
        case 'PodPlacementChanged': {
          const { tenantId, podId, ports, memoryBytes, cpus } = event.data;
          await tx
            .updateTable('placements')
            .set({ ports: jsonb(ports), memory_bytes: memoryBytes, cpus })
            .where('node_id', '=', nodeId)
            .where('tenant_id', '=', tenantId)
            .where('pod_id', '=', podId)
            .execute();
          break;
        }
        case 'PodReleased':
          await tx
            .deleteFrom('placements')
            .where('node_id', '=', nodeId)
            .where('tenant_id', '=', event.data.tenantId)
            .where('pod_id', '=', event.data.podId)
            .execute();
          break;
        default:
          unreachable(event);
      }
    }
  },
};
