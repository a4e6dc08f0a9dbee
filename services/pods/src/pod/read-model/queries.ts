import { ObservedContainer, type PodView } from '@agentpod/contracts';
import { sql } from 'kysely';
import type { PodsDeps } from '../../deps.ts';
import { findNodes } from '../../node/read-model/queries.ts';
import { type ActionRow, type ContainerRow, podView } from './view.ts';

export type PodFilter = {
  /** `all`, or the tenants whose pods to list. */
  tenants: 'all' | readonly string[];
  podId?: string;
  /** Node ids: only the pods placed there. */
  nodes?: readonly string[];
};

const key = (tenantId: string, podId: string) => `${tenantId}/${podId}`;

/** A container row with where it runs and which generation it is. */
type Located = ContainerRow & { node_id: string; generation: number };

/** Live pods (deleted ones vanish) as views: desired state, observed container, last action, node status. */
export async function findPods(deps: PodsDeps, filter: PodFilter): Promise<PodView[]> {
  const { db } = deps.runtime;
  const { tenants } = filter;
  if (tenants !== 'all' && tenants.length === 0) return [];
  const pods = await db
    .selectFrom('pods')
    .selectAll()
    .where('deleted_at', 'is', null)
    .$if(tenants !== 'all', (q) => q.where('tenant_id', 'in', tenants === 'all' ? [] : tenants))
    .$if(filter.podId !== undefined, (q) => q.where('pod_id', '=', filter.podId ?? ''))
    .$if(filter.nodes !== undefined, (q) =>
      filter.nodes && filter.nodes.length > 0 ? q.where('node_id', 'in', filter.nodes) : q.where(sql<boolean>`false`),
    )
    .orderBy('tenant_id')
    .orderBy('pod_id')
    .execute();
  if (pods.length === 0) return [];
  const tenantIds = [...new Set(pods.map((pod) => pod.tenant_id))];
  const podIds = [...new Set(pods.map((pod) => pod.pod_id))];
  const [nodes, containers, actions, recoveries, failing] = await Promise.all([
    findNodes(db, deps.heartbeats, deps.runtime.clock(), { ids: [...new Set(pods.map((pod) => pod.node_id))] }),
    db
      .selectFrom('containers')
      .leftJoin('container_health', 'container_health.container_id', 'containers.container_id')
      .select([
        'containers.container_id',
        'containers.node_id',
        'containers.tenant_id',
        'containers.pod_id',
        'containers.generation',
        'containers.state',
        'containers.observed',
        'containers.restarts',
        'container_health.started_at as health_started_at',
        'container_health.status as health_status',
      ])
      .where('containers.tenant_id', 'in', tenantIds)
      .where('containers.pod_id', 'in', podIds)
      .execute(),
    db
      .selectFrom('pod_actions')
      .select(['tenant_id', 'pod_id', 'generation', 'ok', 'error'])
      .where('tenant_id', 'in', tenantIds)
      .where('pod_id', 'in', podIds)
      .execute(),
    db
      .selectFrom('pod_recoveries')
      .select(['tenant_id', 'pod_id', 'generation', 'recoveries'])
      .where('tenant_id', 'in', tenantIds)
      .where('pod_id', 'in', podIds)
      .execute(),
    db
      .selectFrom('pod_failing')
      .select(['tenant_id', 'pod_id', 'generation', 'summary'])
      .where('tenant_id', 'in', tenantIds)
      .where('pod_id', 'in', podIds)
      .execute(),
  ]);
  const nodeById = new Map(nodes.map((node) => [node.id, node]));
  const actionByPod = new Map<string, ActionRow>(actions.map((a) => [key(a.tenant_id, a.pod_id), a]));
  const containersByPod = new Map<string, Located[]>();
  for (const { health_started_at, health_status, ...c } of containers) {
    const list = containersByPod.get(key(c.tenant_id, c.pod_id)) ?? [];
    const health = health_status === null ? undefined : { started_at: health_started_at, status: health_status };
    list.push({ ...c, observed: ObservedContainer.parse(c.observed), health });
    containersByPod.set(key(c.tenant_id, c.pod_id), list);
  }
  // Only this pod's own history counts: a pod created under the name of a deleted one starts at a later generation.
  const recoveriesByPod = new Map<string, { generation: number; recoveries: number }[]>();
  for (const r of recoveries) {
    recoveriesByPod.set(key(r.tenant_id, r.pod_id), [...(recoveriesByPod.get(key(r.tenant_id, r.pod_id)) ?? []), r]);
  }
  const recoveriesOf = (pod: (typeof pods)[number]) =>
    (recoveriesByPod.get(key(pod.tenant_id, pod.pod_id)) ?? [])
      .filter((r) => r.generation >= pod.first_generation)
      .reduce((sum, r) => sum + r.recoveries, 0);
  const failingByPod = new Map(failing.map((f) => [key(f.tenant_id, f.pod_id), f]));
  return pods.map((pod) => {
    const node = nodeById.get(pod.node_id);
    const marked = failingByPod.get(key(pod.tenant_id, pod.pod_id));
    // The container of the current generation on the pod's node; a running one first should there be two.
    const current = (containersByPod.get(key(pod.tenant_id, pod.pod_id)) ?? [])
      .filter((c) => c.generation === pod.generation && c.node_id === pod.node_id)
      .sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running'))[0];
    return podView({
      pod,
      nodeName: node?.name ?? null,
      node: node?.liveness ?? { status: 'pending', lastSeenAt: null },
      container: current,
      action: actionByPod.get(key(pod.tenant_id, pod.pod_id)),
      recoveries: recoveriesOf(pod),
      failing: marked && marked.generation >= pod.first_generation ? marked : undefined,
    });
  });
}

/** The newest container of a pod on its node, whatever its generation: where its logs are while a new one starts. */
export async function newestContainer(
  deps: PodsDeps,
  tenantId: string,
  podId: string,
): Promise<{ nodeId: string; containerId: string } | undefined> {
  const row = await deps.runtime.db
    .selectFrom('containers')
    .select(['node_id', 'container_id'])
    .where('tenant_id', '=', tenantId)
    .where('pod_id', '=', podId)
    .orderBy('generation', 'desc')
    .orderBy('updated_at', 'desc')
    .executeTakeFirst();
  return row ? { nodeId: row.node_id, containerId: row.container_id } : undefined;
}

/** How many live pods a tenant has. */
export async function countPods(deps: PodsDeps, tenantId: string): Promise<number> {
  const row = await deps.runtime.db
    .selectFrom('pods')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('tenant_id', '=', tenantId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return row.count;
}
