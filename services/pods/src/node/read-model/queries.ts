import { NodeFacts, NodeId, type NodeView } from '@agentpod/contracts';
import { type Kysely, sql } from 'kysely';
import type { PodsDb } from '../../db.ts';
import { type Heartbeats, type Liveness, nodeLiveness } from '../liveness.ts';

/** A node as the read model knows it, with its liveness: what placement and the views need. */
export type KnownNode = {
  id: string;
  name: string;
  tenantId: string | null;
  removed: boolean;
  facts: NodeFacts | null;
  liveness: Liveness;
  pods: number;
  reservedMemoryBytes: number;
  createdAt: string;
};

export type NodeFilter = {
  /** By id, or by name among the nodes not removed. */
  ref?: string;
  ids?: readonly string[];
  /** Nodes owned by these tenants; `pool` adds the platform pool. */
  tenants?: readonly string[];
  pool?: boolean;
};

export async function findNodes(
  db: Kysely<PodsDb>,
  heartbeats: Heartbeats,
  now: Date,
  filter: NodeFilter = {},
): Promise<KnownNode[]> {
  const held = db
    .selectFrom('placements')
    .select([
      'node_id',
      sql<number>`count(*)::int`.as('pods'),
      sql<number>`coalesce(sum(memory_bytes), 0)::bigint`.as('reserved'),
    ])
    .groupBy('node_id')
    .as('held');
  const rows = await db
    .selectFrom('nodes')
    .leftJoin('node_agents', 'node_agents.node_id', 'nodes.id')
    .leftJoin(held, 'held.node_id', 'nodes.id')
    .select([
      'nodes.id',
      'nodes.name',
      'nodes.tenant_id',
      'nodes.created_at',
      'nodes.removed_at',
      'node_agents.facts',
      'node_agents.connected_at',
      'node_agents.disconnected_at',
      'held.pods',
      'held.reserved',
    ])
    .$if(filter.ref !== undefined, (q) =>
      NodeId.safeParse(filter.ref).success
        ? q.where('nodes.id', '=', filter.ref ?? '')
        : q.where('nodes.name', '=', filter.ref ?? '').where('nodes.removed_at', 'is', null),
    )
    .$if(filter.ids !== undefined, (q) =>
      filter.ids && filter.ids.length > 0 ? q.where('nodes.id', 'in', filter.ids) : q.where(sql<boolean>`false`),
    )
    .$if(filter.tenants !== undefined || filter.pool !== undefined, (q) =>
      q.where((eb) =>
        eb.or([
          ...(filter.tenants && filter.tenants.length > 0 ? [eb('nodes.tenant_id', 'in', filter.tenants)] : []),
          ...(filter.pool ? [eb('nodes.tenant_id', 'is', null)] : []),
          eb.val(false),
        ]),
      ),
    )
    .orderBy('nodes.name')
    .orderBy('nodes.created_at')
    .execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    tenantId: row.tenant_id,
    removed: row.removed_at !== null,
    facts: NodeFacts.nullable().parse(row.facts ?? null),
    liveness: nodeLiveness({
      removed: row.removed_at !== null,
      connectedAt: row.connected_at,
      disconnectedAt: row.disconnected_at,
      heartbeat: heartbeats.last(row.id),
      now,
    }),
    pods: row.pods ?? 0,
    reservedMemoryBytes: Number(row.reserved ?? 0),
    createdAt: row.created_at.toISOString(),
  }));
}

export const toNodeView = (node: KnownNode): NodeView => ({
  id: node.id,
  name: node.name,
  tenantId: node.tenantId,
  status: node.liveness.status,
  lastSeenAt: node.liveness.lastSeenAt,
  facts: node.facts,
  pods: node.pods,
  reservedMemoryBytes: node.reservedMemoryBytes,
  createdAt: node.createdAt,
});
