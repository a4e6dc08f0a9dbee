import { AppError, type PortBinding, type PortSpec, podRef, type RequestMeta } from '@agentpod/contracts';
import type { CommandOutcome } from '@agentpod/kit';
import { execute, type PodsDeps } from '../deps.ts';
import { formatBytes } from '../format.ts';
import { type Capacity, decideNode, decidePlacement, type PodLimits, refusalOf } from '../node/decide.ts';
import { findNodes, type KnownNode } from '../node/read-model/queries.ts';
import { PLACEMENT_ATTEMPTS, STALE_PLACEMENT_MS } from '../settings.ts';

/*
 * Placing a pod: which nodes may take it (from the read model), and the placement itself, decided on the chosen
 * node's aggregate with its capacity passed in. The read model only orders the candidates; the node aggregate
 * has the last word on room and ports, so a lagging read model can never cause a collision.
 */

export type Placed = { nodeId: string; bindings: PortBinding[]; outcome: CommandOutcome<unknown>; by: string };

export const capacityOf = (deps: PodsDeps, node: KnownNode | undefined): Capacity => ({
  memoryBytes: node?.facts?.memoryBytes ?? null,
  overcommit: deps.runtime.config.AGENTPOD_MEMORY_OVERCOMMIT,
  range: deps.runtime.config.AGENTPOD_PORT_RANGE,
});

/**
 * Where a pod may go. A named node (id or name) must be the tenant's or the pool's and not removed; it may be
 * unreachable (the pod waits for it). Otherwise the tenant's own online nodes, then the pool's, most free memory first.
 */
export async function candidates(deps: PodsDeps, tenantId: string, ref: string | undefined): Promise<KnownNode[]> {
  const { db, clock } = deps.runtime;
  if (ref !== undefined) {
    const [node] = await findNodes(db, deps.heartbeats, clock(), { ref });
    if (!node || (node.tenantId !== null && node.tenantId !== tenantId)) {
      throw new AppError('not_found', `node ${ref} does not exist or is not available to tenant ${tenantId}`);
    }
    if (node.removed) throw new AppError('conflict', `node ${node.name} is removed`);
    return [node];
  }
  const free = (node: KnownNode) =>
    (node.facts?.memoryBytes ?? 0) * deps.runtime.config.AGENTPOD_MEMORY_OVERCOMMIT - node.reservedMemoryBytes;
  const nodes = await findNodes(db, deps.heartbeats, clock(), { tenants: [tenantId], pool: true });
  return nodes
    .filter((node) => !node.removed && node.liveness.status === 'online')
    .sort(
      (a, b) =>
        Number(b.tenantId !== null) - Number(a.tenantId !== null) || free(b) - free(a) || a.name.localeCompare(b.name),
    );
}

/**
 * Places the pod on the first candidate with room and free ports. A node that has neither is skipped; anything
 * else (the pod being placed already, a removed node) stops the search. Nothing is stored when no node takes it.
 */
export async function place(
  deps: PodsDeps,
  meta: RequestMeta,
  nodes: readonly KnownNode[],
  pod: { tenantId: string; podId: string; ports: readonly PortSpec[]; limits: PodLimits; named: boolean },
): Promise<Placed> {
  const refusals: { node: string; reason: string; message: string }[] = [];
  for (const node of nodes) {
    let bindings: PortBinding[] = [];
    try {
      const outcome = await execute(
        deps,
        deps.repos.nodes,
        node.id,
        meta,
        (state, now) => {
          const decision = decidePlacement({ type: 'PlacePod', ...pod, capacity: capacityOf(deps, node), now }, state);
          if (decision instanceof AppError) return decision;
          bindings = decision.bindings;
          return decision.events;
        },
        PLACEMENT_ATTEMPTS,
      );
      const by = outcome.events[0]?.envelope.id;
      if (!by) throw new AppError('internal', `placing ${podRef(pod.tenantId, pod.podId)} stored nothing`);
      return { nodeId: node.id, bindings, outcome, by };
    } catch (error) {
      const reason = error instanceof AppError ? refusalOf(error) : undefined;
      if (pod.named || (reason !== 'memory' && reason !== 'ports')) throw error;
      refusals.push({ node: node.name, reason, message: (error as AppError).message });
    }
  }
  const range = deps.runtime.config.AGENTPOD_PORT_RANGE;
  const message =
    refusals.length > 0 && refusals.every((r) => r.reason === 'ports')
      ? `no node has ${pod.ports.length} free host port(s) in ${range.low}-${range.high}`
      : `no node has room for ${formatBytes(pod.limits.memoryBytes)}${refusals.length === 0 ? ' (no node of the tenant or of the pool is online)' : ''}`;
  throw new AppError('conflict', message, { details: { refusals } });
}

/** Undoes a placement whose pod could not be recorded: only if the entry is still the one it made. */
export function unplace(deps: PodsDeps, meta: RequestMeta, pod: { tenantId: string; podId: string }, placed: Placed) {
  return execute(deps, deps.repos.nodes, placed.nodeId, meta, (state) =>
    decideNode({ type: 'ReleasePod', ...pod, by: placed.by }, state),
  );
}

/**
 * Releases what an interrupted creation or deletion left placed for a pod that is not live (found in the read
 * model; the node aggregate decides whether the entry is old enough to be abandoned).
 */
export async function releaseAbandoned(deps: PodsDeps, meta: RequestMeta, tenantId: string, podId: string) {
  const rows = await deps.runtime.db
    .selectFrom('placements')
    .select('node_id')
    .where('tenant_id', '=', tenantId)
    .where('pod_id', '=', podId)
    .execute();
  const outcomes: CommandOutcome<unknown>[] = [];
  for (const { node_id: nodeId } of rows) {
    outcomes.push(
      await execute(deps, deps.repos.nodes, nodeId, meta, (state, now) =>
        decideNode(
          { type: 'ReleasePod', tenantId, podId, placedBefore: new Date(now.getTime() - STALE_PLACEMENT_MS) },
          state,
        ),
      ),
    );
  }
  return outcomes;
}
