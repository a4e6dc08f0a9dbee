import { ContainerState, ErrorBody, ProbeHealth, ReconcileAction, RecoveryReason } from '@agentpod/contracts';
import type { Kysely, Selectable } from 'kysely';
import type { DesiredPodsTable, ObservedContainersTable, PodHistoryTable, ReconcilerDb } from './db.ts';
import { type DesiredPod, type PodHistory, podKey, type SeenContainer } from './plan/model.ts';

/*
 * The planner's inputs read from the reconciler's own tables (rows mapped to domain values here, at the edge).
 * Deleted pods whose clean-up is finished are left out, so tombstones cost nothing once they are settled (unless
 * still marked failing: the mark is lifted first).
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
          eb('h.failing_generation', 'is not', null),
        ]),
      )
      .execute(),
    db
      .selectFrom('observed_containers')
      .select(SEEN_COLUMNS)
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

const SEEN_COLUMNS = [
  'node_id',
  'container_id',
  'tenant_id',
  'pod_id',
  'generation',
  'state',
  'exit_code',
  'started_at',
  'finished_at',
  'health',
  'health_error',
  'observed_at',
] as const;
type SeenRow = Pick<Selectable<ObservedContainersTable>, (typeof SEEN_COLUMNS)[number]>;

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
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    // A verdict this version does not know is no verdict.
    health: ProbeHealth.safeParse(row.health).data ?? null,
    healthError: row.health_error,
    observedAt: row.observed_at,
  };
}

function toHistory(row: Selectable<PodHistoryTable>): PodHistory {
  const action = ReconcileAction.safeParse(row.last_action);
  const reason = RecoveryReason.safeParse(row.recovery_reason);
  const { last_generation: generation, last_ok: ok, last_at: at } = row;
  return {
    last:
      action.success && generation !== null && ok !== null && at !== null
        ? {
            action: action.data,
            generation,
            ok,
            at,
            error: ErrorBody.safeParse(row.last_error).data?.message ?? null,
            recovery: row.last_recovery,
          }
        : null,
    failures: row.failures,
    recovery:
      reason.success && row.recovery_attempt !== null && row.recovery_at !== null
        ? { reason: reason.data, attempt: row.recovery_attempt, at: row.recovery_at }
        : null,
    failing:
      row.failing_generation !== null && row.failing_since !== null
        ? { generation: row.failing_generation, since: row.failing_since }
        : null,
    restartHonoured: row.restart_honoured,
    removalDone: row.removal_done,
  };
}
