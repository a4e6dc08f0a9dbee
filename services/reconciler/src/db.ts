import type { ColumnType, RawBuilder } from 'kysely';

/** A timestamptz column: read as a Date, written as an ISO string (always an event's `occurredAt`). */
type Timestamp = ColumnType<Date, string, string>;
type NullableTimestamp = ColumnType<Date | null, string | null, string | null>;
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
  /** The current (or last) run's start and the last run's end, by the node's clock (ObservedContainer's). */
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  /** The agent's probe verdict on the current run ('starting' | 'healthy' | 'unhealthy'); null: no check, not running. */
  health: string | null;
  /** The last failed probe's reason, kept while the verdict on the same run stands. */
  health_error: string | null;
  container: Jsonb<unknown>;
  observed_at: Timestamp;
};

/**
 * What the reconciler last did to each pod (RECONCILER): the planner's history input. The `last_*` columns are
 * null for a pod only marked failing or recovered (no action recorded yet).
 */
export type PodHistoryTable = {
  tenant_id: string;
  pod_id: string;
  node_id: string;
  last_action: string | null;
  last_generation: number | null;
  last_ok: boolean | null;
  last_error: Jsonb<unknown> | null;
  last_at: NullableTimestamp;
  /** Whether the last action was a recovery. */
  last_recovery: boolean;
  /** Failed actions in a row; 0 after a success. */
  failures: number;
  /** The streak's latest recovery (reason, attempt, time), until PodRecovered. */
  recovery_reason: string | null;
  recovery_attempt: number | null;
  recovery_at: NullableTimestamp;
  /** Set by PodFailing, cleared by PodRecovered. */
  failing_generation: number | null;
  failing_since: NullableTimestamp;
  restart_honoured: string | null;
  removal_done: string | null;
};

export type ReconcilerDb = {
  desired_pods: DesiredPodsTable;
  observed_containers: ObservedContainersTable;
  pod_history: PodHistoryTable;
};
