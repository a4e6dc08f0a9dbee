import {
  type AddNodeResult,
  AppError,
  commandSubject,
  NodeCommands,
  NodeQueries,
  type NodeResult,
  nodeNameAggregateId,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { mayManagePool } from '../access/policy.ts';
import { readableTenants, requireTenant } from '../access/tenants.ts';
import { execute, type PodsDeps, settle } from '../deps.ts';
import { decideName, type Holder } from '../node-name/decide.ts';
import { newNodeId } from '../secrets/tokens.ts';
import { decideNode } from './decide.ts';
import { findNodes, toNodeView } from './read-model/queries.ts';
import { joinTokenFor, loadNode, nodeView, requireNodeManager, revokeCredentials } from './registry.ts';

/** What became of the node holding a name claim, so the claim can pass on from a removed or abandoned node. */
async function holderOf(deps: PodsDeps, name: string, nodeId: string): Promise<Holder | undefined> {
  const claim = await deps.repos.names.load(nodeNameAggregateId(name));
  if (!claim.state.claimed || claim.state.nodeId === nodeId) return undefined;
  const holder = await deps.repos.nodes.load(claim.state.nodeId);
  const state = !holder.state.added ? 'never-added' : holder.state.removed ? 'removed' : 'live';
  return { nodeId: claim.state.nodeId, state };
}

/** The live node holding `name` with the same owner, for `reuse`. */
async function reusable(deps: PodsDeps, name: string, tenantId: string | undefined) {
  const claim = await deps.repos.names.load(nodeNameAggregateId(name));
  if (!claim.state.claimed) return undefined;
  const { state } = await deps.repos.nodes.load(claim.state.nodeId);
  return state.added && !state.removed && state.tenantId === tenantId ? state : undefined;
}

async function addNode(
  deps: PodsDeps,
  input: { name: string; tenantId?: string | undefined; reuse?: boolean | undefined },
  meta: RequestMeta,
): Promise<AddNodeResult> {
  const { name, tenantId } = input;
  if (tenantId) await requireTenant(deps.runtime, meta, tenantId, 'owner', 'adding a node');
  else if (!mayManagePool(meta)) throw new AppError('forbidden', 'only a platform admin may add a node to the pool');
  if (input.reuse) {
    const existing = await reusable(deps, name, tenantId);
    if (existing) return joinTokenFor(deps, meta, existing.nodeId);
  }
  const nodeId = newNodeId();
  const nameId = nodeNameAggregateId(name);
  const holder = await holderOf(deps, name, nodeId);
  const claimed = await execute(deps, deps.repos.names, nameId, meta, (state, now) =>
    decideName({ type: 'ClaimName', name, nodeId, holder, now }, state),
  );
  let added: Awaited<ReturnType<typeof execute>> | undefined;
  try {
    added = await execute(deps, deps.repos.nodes, nodeId, meta, (state) =>
      decideNode({ type: 'AddNode', nodeId, name, tenantId }, state),
    );
    await settle(deps, claimed, added);
    return await joinTokenFor(deps, meta, nodeId);
  } catch (error) {
    // No node without a way to join it: undo, so the name can be used again at once.
    try {
      const removed = added
        ? await execute(deps, deps.repos.nodes, nodeId, meta, (state) => decideNode({ type: 'RemoveNode' }, state))
        : undefined;
      const released = await execute(deps, deps.repos.names, nameId, meta, (state) =>
        decideName({ type: 'ReleaseName', name, nodeId }, state),
      );
      await settle(deps, removed, released);
    } catch (undo) {
      deps.runtime.logger.error({ err: undo, nodeId }, `could not undo adding node ${name}`);
    }
    throw error;
  }
}

/** Registers `pods.cmd.{addNode,removeNode,issueJoinToken}` and `pods.qry.{listNodes,getNode}`. */
export function registerNodeHandlers(deps: PodsDeps): void {
  const { runtime } = deps;

  runtime.serve(
    commandSubject('pods', 'addNode'),
    handler(NodeCommands.addNode, (input, meta): Promise<NodeResult<'addNode'>> => addNode(deps, input, meta)),
  );

  // Pods placed on a removed node stay recorded (pending: node removed); a second removal finishes a first one
  // that could not reach identity.
  runtime.serve(
    commandSubject('pods', 'removeNode'),
    handler(NodeCommands.removeNode, async ({ node: ref }, meta): Promise<NodeResult<'removeNode'>> => {
      const node = await loadNode(deps, ref);
      await requireNodeManager(deps, meta, node, 'removing a node');
      const removed = await execute(deps, deps.repos.nodes, node.nodeId, meta, (state) =>
        decideNode({ type: 'RemoveNode' }, state),
      );
      const released = await execute(deps, deps.repos.names, nodeNameAggregateId(node.name), meta, (state) =>
        decideName({ type: 'ReleaseName', name: node.name, nodeId: node.nodeId }, state),
      );
      await revokeCredentials(deps, meta, node.nodeId);
      await settle(deps, removed, released);
      return nodeView(deps, node.nodeId);
    }),
  );

  runtime.serve(
    commandSubject('pods', 'issueJoinToken'),
    handler(NodeCommands.issueJoinToken, async ({ node: ref }, meta): Promise<NodeResult<'issueJoinToken'>> => {
      const node = await loadNode(deps, ref);
      await requireNodeManager(deps, meta, node, 'issuing a join token');
      if (node.removed) throw new AppError('conflict', `node ${node.name} is removed; add it again instead`);
      return joinTokenFor(deps, meta, node.nodeId);
    }),
  );

  runtime.serve(
    querySubject('pods', 'listNodes'),
    handler(NodeQueries.listNodes, async ({ tenantId }, meta): Promise<NodeResult<'listNodes'>> => {
      const readable = await readableTenants(runtime, meta);
      if (tenantId !== undefined && readable !== 'all' && !readable.has(tenantId)) {
        throw new AppError('not_found', `tenant ${tenantId} does not exist or you have no access to it`);
      }
      const filter =
        tenantId !== undefined ? { tenants: [tenantId] } : readable === 'all' ? {} : { tenants: [...readable.keys()] };
      const nodes = await findNodes(runtime.db, deps.heartbeats, runtime.clock(), filter);
      return { nodes: nodes.map(toNodeView) };
    }),
  );

  runtime.serve(
    querySubject('pods', 'getNode'),
    handler(NodeQueries.getNode, async ({ node: ref }, meta): Promise<NodeResult<'getNode'>> => {
      const [node] = await findNodes(runtime.db, deps.heartbeats, runtime.clock(), { ref });
      const readable = await readableTenants(runtime, meta);
      const visible = node && (readable === 'all' || (node.tenantId !== null && readable.has(node.tenantId)));
      if (!node || !visible) throw new AppError('not_found', `node ${ref} does not exist or you have no access to it`);
      return toNodeView(node);
    }),
  );
}
