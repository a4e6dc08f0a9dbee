import { podEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { Updateable } from 'kysely';
import { jsonb, type PodsDb, type PodsTable } from '../../db.ts';
import { eventsOf } from '../../events-of.ts';
import { unreachable } from '../../never.ts';

/** The tenant and pod of a pod aggregate id, `pod_<tenant>_<pod>` (`_` cannot occur in either slug). */
export function podOfAggregate(aggregateId: string): { tenantId: string; podId: string } | undefined {
  const match = /^pod_([a-z0-9-]+)_([a-z0-9-]+)$/.exec(aggregateId);
  return match?.[1] && match[2] ? { tenantId: match[1], podId: match[2] } : undefined;
}

/** `pods`: each pod's desired state, from the pod aggregates of PODS. Secrets stay out (the spec names them). */
export const podsProjection: Projection<PodsDb> = {
  name: 'pods',
  context: 'pods',
  async apply(tx, stored) {
    for (const event of eventsOf(podEvents, stored)) {
      const pod = podOfAggregate(event.aggregateId);
      if (!pod) continue;
      const at = event.occurredAt;
      const update = (set: Updateable<PodsTable>) =>
        tx.updateTable('pods').set(set).where('tenant_id', '=', pod.tenantId).where('pod_id', '=', pod.podId).execute();
      switch (event.type) {
        case 'PodCreated':
        case 'PodAdopted': {
          const { nodeId, spec, ports, generation } = event.data;
          // An adopted pod's data is in its kept mounts, never in a volume of AgentPod's.
          const volumeName = event.type === 'PodCreated' ? event.data.volumeName : null;
          const row = {
            node_id: nodeId,
            generation,
            first_generation: generation,
            desired: 'running' as const,
            spec: jsonb(spec),
            ports: jsonb(ports),
            volume_name: volumeName,
            restart_id: null,
            created_at: at,
            updated_at: at,
            deleted_at: null,
            keep_volume: false,
          };
          await tx
            .insertInto('pods')
            .values({ tenant_id: pod.tenantId, pod_id: pod.podId, ...row })
            .onConflict((c) => c.columns(['tenant_id', 'pod_id']).doUpdateSet(row))
            .execute();
          break;
        }
        case 'PodUpdated': {
          const { spec, ports, generation } = event.data;
          await update({ spec: jsonb(spec), ports: jsonb(ports), generation, updated_at: at });
          break;
        }
        case 'PodStopped':
          await update({ desired: 'stopped', updated_at: at });
          break;
        case 'PodStarted':
          await update({ desired: 'running', updated_at: at });
          break;
        case 'PodRestartRequested':
          await update({ restart_id: event.data.restartId, updated_at: at });
          break;
        case 'PodAccessTokenRotated':
          await update({ generation: event.data.generation, updated_at: at });
          break;
        case 'PodDeleted':
          await update({ deleted_at: at, keep_volume: event.data.keepVolume, updated_at: at });
          break;
        default:
          unreachable(event);
      }
    }
  },
};
