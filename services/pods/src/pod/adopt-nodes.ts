import {
  type AgentOp,
  type AgentOpInput,
  type AgentOpOutput,
  AgentOps,
  AppError,
  agentSubjects,
  type RequestMeta,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import { mayManagePool } from '../access/policy.ts';
import { readableTenants } from '../access/tenants.ts';
import { asSystem, type PodsDeps } from '../deps.ts';
import { findNodes, type KnownNode } from '../node/read-model/queries.ts';

/*
 * Where containers may be discovered and adopted, and the calls to those nodes' agents. A platform admin may use
 * every node (adopting onto the pool or onto the tenant's own nodes); a tenant's owner only the tenant's own
 * nodes, whose containers are the tenant's to begin with. Another tenant's node does not exist for the caller.
 */

/** Long enough for Docker to inspect every container of a busy node. */
const AGENT_TIMEOUT_MS = 20_000;

/** An operation of one node's agent, as the pods service (within the caller's correlation). */
export async function askAgent<K extends AgentOp>(
  deps: PodsDeps,
  meta: RequestMeta,
  nodeId: string,
  op: K,
  input: AgentOpInput<K>,
): Promise<AgentOpOutput<K>> {
  const answer = await request(deps.runtime.nc, agentSubjects.command(nodeId, op), input, asSystem(meta), {
    timeoutMs: AGENT_TIMEOUT_MS,
  });
  const parsed = AgentOps[op].output.safeParse(answer);
  if (!parsed.success) throw new AppError('internal', `the agent of node ${nodeId} answered ${op} with something else`);
  return parsed.data as AgentOpOutput<K>;
}

const online = (node: KnownNode) => node.liveness.status === 'online';

/** The tenants whose nodes the caller owns ('all' for a platform admin). */
async function ownedTenants(deps: PodsDeps, meta: RequestMeta): Promise<'all' | string[]> {
  if (mayManagePool(meta)) return 'all';
  const roles = await readableTenants(deps.runtime, meta);
  if (roles === 'all') return 'all';
  return [...roles].filter(([, role]) => role === 'owner').map(([tenantId]) => tenantId);
}

/** The nodes whose containers the caller may list: one by id or name, or every one (not removed). */
export async function discoverableNodes(deps: PodsDeps, meta: RequestMeta, ref?: string): Promise<KnownNode[]> {
  const tenants = await ownedTenants(deps, meta);
  const { db, clock } = deps.runtime;
  const nodes = await findNodes(
    db,
    deps.heartbeats,
    clock(),
    ref !== undefined ? { ref } : tenants === 'all' ? {} : { tenants },
  );
  const visible = nodes.filter(
    (node) => !node.removed && (tenants === 'all' || (node.tenantId !== null && tenants.includes(node.tenantId))),
  );
  if (ref !== undefined && visible.length === 0)
    throw new AppError('not_found', `node ${ref} does not exist or you may not look at its containers`);
  return visible;
}

/**
 * The nodes a container may be adopted from as a pod of `tenantId` (the caller is the tenant's owner or a platform
 * admin, checked before): the named one, else every online one. A pool node needs a platform admin.
 */
export async function adoptionNodes(
  deps: PodsDeps,
  meta: RequestMeta,
  tenantId: string,
  ref: string | undefined,
): Promise<KnownNode[]> {
  const admin = mayManagePool(meta);
  const { db, clock } = deps.runtime;
  if (ref === undefined) {
    const nodes = await findNodes(db, deps.heartbeats, clock(), { tenants: [tenantId], pool: admin });
    return nodes.filter((node) => !node.removed && online(node));
  }
  const [node] = await findNodes(db, deps.heartbeats, clock(), { ref });
  if (!node || (node.tenantId !== null && node.tenantId !== tenantId))
    throw new AppError('not_found', `node ${ref} does not exist or is not available to tenant ${tenantId}`);
  if (node.tenantId === null && !admin)
    throw new AppError('forbidden', `node ${node.name} is a platform node: adopting there needs a platform admin`);
  if (node.removed) throw new AppError('conflict', `node ${node.name} is removed`);
  if (!online(node))
    throw new AppError('unavailable', `node ${node.name} is ${node.liveness.status}: its agent must answer to adopt`);
  return [node];
}
