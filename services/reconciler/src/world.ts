import { ContainerState, ReconcileAction } from '@agentpod/contracts';
import type { Kysely, Selectable } from 'kysely';
import type { DesiredPodsTable, ObservedContainersTable, PodHistoryTable, ReconcilerDb } from './db.ts';
import { type DesiredPod, type PodHistory, podKey, type SeenContainer } from './plan/model.ts';

/*
 * The planner's inputs read from the reconciler's own tables (rows mapped to domain values here, at the edge).
 * Deleted pods whose clean-up is finished are left out, so tombstones cost nothing once they are settled.
 */

export type World = {
  desired: DesiredPod[];
  observed: SeenContainer[];
  history: Map<string, PodHistory>;
};

export async function loadWorld(db: Kysely<ReconcilerDb>, options: { tenantId?: string } = {}): Promise<World> {
  const { tenantId } = options;
  const [desired, observed, history] = await Promise.all([
    db
      .selectFrom('desired_pods as d')
      .leftJoin('pod_history as h', (join) =>
        join.onRef('h.tenant_id', '=', 'd.tenant_id').onRef('h.pod_id', '=', 'd.pod_id'),
      )
      .selectAll('d')
      .$if(tenantId !== undefined, (q) => q.where('d.tenant_id', '=', tenantId ?? ''))
      .where((eb) =>
        eb.or([
          eb('d.deleted', '=', false),
          eb.exists(
            eb
              .selectFrom('observed_containers as o')
              .select('o.container_id')
              .whereRef('o.tenant_id', '=', 'd.tenant_id')
              .whereRef('o.pod_id', '=', 'd.pod_id'),
          ),
          eb.and([
            eb('d.volume_name', 'is not', null),
            eb('d.keep_volume', '=', false),
            eb('h.removal_done', 'is distinct from', eb.ref('d.deletion_event')),
          ]),
        ]),
      )
      .execute(),
    db
      .selectFrom('observed_containers')
      .select(['node_id', 'container_id', 'tenant_id', 'pod_id', 'generation', 'state', 'exit_code'])
      .$if(tenantId !== undefined, (q) => q.where('tenant_id', '=', tenantId ?? ''))
      .execute(),
    db
      .selectFrom('pod_history')
      .selectAll()
      .$if(tenantId !== undefined, (q) => q.where('tenant_id', '=', tenantId ?? ''))
      .execute(),
  ]);
  return {
    desired: desired.map(toDesired),
    observed: observed.map(toSeen),
    history: new Map(history.map((row) => [podKey(row.tenant_id, row.pod_id), toHistory(row)])),
  };
}

function toDesired(row: Selectable<DesiredPodsTable>): DesiredPod {
  return {
    tenantId: row.tenant_id,
    podId: row.pod_id,
    nodeId: row.node_id,
    generation: row.generation,
    desired: row.desired,
    restartPolicy: row.restart_policy,
    restartRequest: row.restart_request,
    deletion: row.deleted ? { eventId: row.deletion_event ?? '', keepVolume: row.keep_volume } : null,
    volumeName: row.volume_name,
  };
}

type SeenRow = Pick<
  Selectable<ObservedContainersTable>,
  'node_id' | 'container_id' | 'tenant_id' | 'pod_id' | 'generation' | 'state' | 'exit_code'
>;

function toSeen(row: SeenRow): SeenContainer {
  const state = ContainerState.safeParse(row.state);
  return {
    nodeId: row.node_id,
    containerId: row.container_id,
    tenantId: row.tenant_id,
    podId: row.pod_id,
    generation: row.generation,
    // The contract's states are the engine's; anything else is treated as a dead container.
    state: state.success ? state.data : 'dead',
    exitCode: row.exit_code,
  };
}

function toHistory(row: Selectable<PodHistoryTable>): PodHistory {
  const action = ReconcileAction.safeParse(row.last_action);
  return {
    last: action.success
      ? { action: action.data, generation: row.last_generation, ok: row.last_ok, at: row.last_at }
      : null,
    failures: row.failures,
    restartHonoured: row.restart_honoured,
    removalDone: row.removal_done,
  };
}
