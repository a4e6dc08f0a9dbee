import type { ColumnType, RawBuilder } from 'kysely';

/** A timestamptz column: read as a Date, written as an ISO string (always an event's `occurredAt`). */
type Timestamp = ColumnType<Date, string, string>;
type Jsonb<T> = ColumnType<T, RawBuilder<unknown>, RawBuilder<unknown>>;

/*
 * The `reconciler` schema (kysely types). Every table is a read model rebuilt from the log; columns are comparable
 * with EXCEPT (jsonb, not json) so a replay can be checked row by row.
 */

/** One pod as the operator wants it (PODS). Deleted pods stay as tombstones: their clean-up is planned from them. */
export type DesiredPodsTable = {
  tenant_id: string;
  pod_id: string;
  node_id: string;
  generation: number;
  desired: 'running' | 'stopped';
  restart_policy: 'always' | 'on-failure' | 'never';
  image: string;
  volume_name: string | null;
  /** Id of the PodRestartRequested event that stands, if any. */
  restart_request: string | null;
  deleted: boolean;
  keep_volume: boolean;
  /** Id of the PodDeleted event. */
  deletion_event: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
};

/** The latest state of each AgentPod-labelled container per node (AGENT); the whole ObservedContainer as jsonb. */
export type ObservedContainersTable = {
  node_id: string;
  container_id: string;
  tenant_id: string;
  pod_id: string;
  generation: number;
  state: string;
  exit_code: number | null;
  container: Jsonb<unknown>;
  observed_at: Timestamp;
};

/** What the reconciler last did to each pod (RECONCILER): the planner's history input. */
export type PodHistoryTable = {
  tenant_id: string;
  pod_id: string;
  node_id: string;
  last_action: string;
  last_generation: number;
  last_ok: boolean;
  last_error: Jsonb<unknown> | null;
  last_at: Timestamp;
  /** Failed actions in a row; 0 after a success. */
  failures: number;
  restart_honoured: string | null;
  removal_done: string | null;
};

export type ReconcilerDb = {
  desired_pods: DesiredPodsTable;
  observed_containers: ObservedContainersTable;
  pod_history: PodHistoryTable;
};
