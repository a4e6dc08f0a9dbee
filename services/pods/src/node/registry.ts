import {
  type AddNodeResult,
  AppError,
  commandSubject,
  NodeCredentialResults,
  NodeId,
  NodeName,
  type NodeView,
  nodeNameAggregateId,
  type RequestMeta,
} from '@agentpod/contracts';
import { request } from '@agentpod/kit';
import { mayManagePool } from '../access/policy.ts';
import { requireTenant } from '../access/tenants.ts';
import { asSystem, type PodsDeps } from '../deps.ts';
import type { Node } from './events.ts';
import { findNodes, toNodeView } from './read-model/queries.ts';

/*
 * What node commands share: finding a node by id or name from the log (strongly consistent), who may manage it,
 * and the calls to identity, which owns join tokens and credentials.
 */

const noSuchNode = (ref: string) => new AppError('not_found', `node ${ref} does not exist or you have no access to it`);

/** A node by id, or by name through its name claim: both read from the log, never from a lagging read model. */
export async function loadNode(deps: PodsDeps, ref: string): Promise<Node> {
  let nodeId = ref;
  if (!NodeId.safeParse(ref).success) {
    if (!NodeName.safeParse(ref).success) throw noSuchNode(ref);
    const claim = await deps.repos.names.load(nodeNameAggregateId(ref));
    if (!claim.state.claimed) throw noSuchNode(ref);
    nodeId = claim.state.nodeId;
  }
  const { state } = await deps.repos.nodes.load(nodeId);
  if (!state.added) throw noSuchNode(ref);
  return state;
}

/** Managing a node: its tenant's owner (or a platform admin) for a tenant's node; a platform admin for the pool. */
export async function requireNodeManager(deps: PodsDeps, meta: RequestMeta, node: Node, action: string) {
  if (node.tenantId) {
    await requireTenant(deps.runtime, meta, node.tenantId, 'owner', action, `node ${node.name}`);
  } else if (!mayManagePool(meta)) {
    throw noSuchNode(node.name);
  }
}

/** The node as the read model shows it (call after `settle`). */
export async function nodeView(deps: PodsDeps, nodeId: string): Promise<NodeView> {
  const [node] = await findNodes(deps.runtime.db, deps.heartbeats, deps.runtime.clock(), { ids: [nodeId] });
  if (!node) throw new AppError('internal', `node ${nodeId} is missing from the read model after it was stored`);
  return toNodeView(node);
}

/** A fresh one-time join token from identity, and the exact command that joins the node with it. */
export async function joinTokenFor(deps: PodsDeps, meta: RequestMeta, nodeId: string): Promise<AddNodeResult> {
  const issued = NodeCredentialResults.issueNodeJoinToken.parse(
    await request(deps.runtime.nc, commandSubject('identity', 'issueNodeJoinToken'), { nodeId }, asSystem(meta)),
  );
  const url = deps.runtime.config.AGENTPOD_PUBLIC_URL.replace(/\/+$/, '');
  return {
    node: await nodeView(deps, nodeId),
    joinToken: issued.token,
    expiresAt: issued.expiresAt,
    installCommand: `agentpod-agent join ${url} ${issued.token}`,
  };
}

/** Ends the node's credentials; identity broadcasts it and every gateway drops the node's socket. */
export async function revokeCredentials(deps: PodsDeps, meta: RequestMeta, nodeId: string): Promise<void> {
  NodeCredentialResults.revokeNode.parse(
    await request(deps.runtime.nc, commandSubject('identity', 'revokeNode'), { nodeId }, asSystem(meta)),
  );
}
