import { type ColumnType, type RawBuilder, sql } from 'kysely';

/** A timestamptz column: read as a Date, written as an ISO string (always an event's `occurredAt`). */
type Timestamp = ColumnType<Date, string, string>;
/** A jsonb column: read as the parsed value, written through `jsonb()`. */
type Json<T> = ColumnType<T, RawBuilder<unknown>, RawBuilder<unknown>>;

/** A value for a jsonb column: sent as text and cast, so the driver does not encode the JSON a second time. */
export const jsonb = (value: unknown): RawBuilder<unknown> =>
  sql<unknown>`(${JSON.stringify(value ?? null)}::text)::jsonb`;

/*
 * The `pods` schema (kysely types). Every table is a read model rebuilt from the log, deterministic (times from
 * `occurredAt`) and comparable with EXCEPT (jsonb, not json) so a replay can be checked row by row. No table holds
 * a secret: secret values and access tokens stay encrypted in the PODS stream, read from the aggregate.
 */

/** From PODS node events. */
export type NodesTable = {
  id: string;
  name: string;
  tenant_id: string | null;
  created_at: Timestamp;
  removed_at: Timestamp | null;
};

/** From PODS node events: what each placed pod holds on its node. */
export type PlacementsTable = {
  node_id: string;
  tenant_id: string;
  pod_id: string;
  ports: Json<{ hostPort: number; protocol: 'tcp' | 'udp' }[]>;
  memory_bytes: number;
  cpus: number;
  placed_at: Timestamp;
};

/** From AGENT: the node's facts and whether its socket is open, latest only. */
export type NodeAgentsTable = {
  node_id: string;
  facts: Json<unknown>;
  connected_at: Timestamp | null;
  disconnected_at: Timestamp | null;
  disconnect_reason: string | null;
};

/** From PODS pod events: the desired state (the spec without secret values). */
export type PodsTable = {
  tenant_id: string;
  pod_id: string;
  node_id: string;
  generation: number;
  desired: 'running' | 'stopped';
  spec: Json<unknown>;
  ports: Json<unknown>;
  volume_name: string | null;
  restart_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
  keep_volume: boolean;
  /** The generation the pod was created with: what counts as this pod's history (a name can be used again). */
  first_generation: ColumnType<number, number | undefined, number>;
};

/** From AGENT: every AgentPod container as last observed, and how often it came back after its process ended. */
export type ContainersTable = {
  container_id: string;
  node_id: string;
  tenant_id: string;
  pod_id: string;
  generation: number;
  state: string;
  observed: Json<unknown>;
  restarts: number;
  /** Its process ended since it last ran: the next time it runs counts as a restart. */
  died: boolean;
  updated_at: Timestamp;
};

/**
 * From AGENT HealthChanged: the agent's latest health verdict on each container, and which run of it
 * (`started_at`, the container's startedAt as the agent saw it) the verdict is about.
 */
export type ContainerHealthTable = {
  container_id: string;
  node_id: string;
  tenant_id: string;
  pod_id: string;
  generation: number;
  started_at: string | null;
  status: 'starting' | 'healthy' | 'unhealthy';
  failures: number;
  last_error: string | null;
  changed_at: Timestamp;
};

/** From RECONCILER: the last action on each pod and its outcome. */
export type PodActionsTable = {
  tenant_id: string;
  pod_id: string;
  generation: number;
  action: string;
  ok: boolean;
  error: Json<{ code: string; message: string } | null>;
  occurred_at: Timestamp;
};

/** From RECONCILER: successful recoveries (crash and health restarts) per pod and generation. */
export type PodRecoveriesTable = {
  tenant_id: string;
  pod_id: string;
  generation: number;
  recoveries: number;
};

/** From RECONCILER: pods marked failing (PodFailing) and not recovered since (PodRecovered deletes the row). */
export type PodFailingTable = {
  tenant_id: string;
  pod_id: string;
  generation: number;
  reason: string;
  failures: number;
  summary: string;
  since: Timestamp;
};

/** From PODS rollout events: each rollout's folded state (jsonb), with what lists filter on beside it. */
export type RolloutsTable = {
  id: string;
  tenant_id: string | null;
  status: string;
  state: Json<unknown>;
  started_at: Timestamp;
  updated_at: Timestamp;
};

/** From TENANTS: which tenants exist and who holds which role there. */
export type TenantsTable = { id: string };
export type TenantMembersTable = { tenant_id: string; user_id: string; role: 'viewer' | 'member' | 'admin' | 'owner' };

export type PodsDb = {
  nodes: NodesTable;
  placements: PlacementsTable;
  node_agents: NodeAgentsTable;
  pods: PodsTable;
  containers: ContainersTable;
  container_health: ContainerHealthTable;
  pod_actions: PodActionsTable;
  pod_recoveries: PodRecoveriesTable;
  pod_failing: PodFailingTable;
  rollouts: RolloutsTable;
  tenants: TenantsTable;
  tenant_members: TenantMembersTable;
};
