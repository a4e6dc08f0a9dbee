import {
  AppError,
  hasPlatformAdmin,
  podRef,
  querySubject,
  type RequestMeta,
  WorkspaceQueries,
  type WorkspaceResults,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import type { z } from 'zod';
import { isSystem, requirePrincipal, roleIn } from '../access/policy.ts';
import { freshMemberships, requireTenant, standingIn } from '../access/tenants.ts';
import type { PodsDeps } from '../deps.ts';
import { loadNode } from '../node/registry.ts';

/*
 * Where a workspace (terminal, files) lives, for the gateway to relay to the right agent. Asked with the caller's
 * principal on every open and at every re-check of an open terminal, so losing access here ends the session.
 *   podWorkspace: member or above of the pod's tenant (a viewer reads logs but gets no shell: `forbidden`).
 *   nodeWorkspace: a platform admin, or an owner of the tenant that owns the node; the tenant's other members
 *   (who see the node) `forbidden`; anyone else `not_found`, so a node's existence does not leak.
 */

type PodWorkspace = z.infer<typeof WorkspaceResults.podWorkspace>;
type NodeWorkspace = z.infer<typeof WorkspaceResults.nodeWorkspace>;

/** The pod's node, its current generation's running container, and its volume; undefined for no live pod. */
async function findPodWorkspace(deps: PodsDeps, tenantId: string, podId: string): Promise<PodWorkspace | undefined> {
  const { db } = deps.runtime;
  const pod = await db
    .selectFrom('pods')
    .select(['node_id', 'generation', 'volume_name'])
    .where('tenant_id', '=', tenantId)
    .where('pod_id', '=', podId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!pod) return undefined;
  const running = await db
    .selectFrom('containers')
    .select('container_id')
    .where('tenant_id', '=', tenantId)
    .where('pod_id', '=', podId)
    .where('node_id', '=', pod.node_id)
    .where('generation', '=', pod.generation)
    .where('state', '=', 'running')
    .orderBy('updated_at', 'desc')
    .executeTakeFirst();
  return { nodeId: pod.node_id, containerId: running?.container_id ?? null, volume: pod.volume_name };
}

async function nodeWorkspace(deps: PodsDeps, ref: string, meta: RequestMeta): Promise<NodeWorkspace> {
  const hidden = () => new AppError('not_found', `node ${ref} does not exist or you have no access to it`);
  const node = await loadNode(deps, ref).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'not_found' ? hidden() : error;
  });
  if (node.removed) throw hidden();
  if (isSystem(meta)) return { nodeId: node.nodeId };
  const principal = requirePrincipal(meta);
  if (hasPlatformAdmin(principal)) return { nodeId: node.nodeId };
  if (node.tenantId === undefined) throw hidden();
  await freshMemberships(deps.runtime);
  const role = roleIn(principal, node.tenantId, await standingIn(deps.runtime.db, principal.userId, node.tenantId));
  // Someone with a role in the tenant sees the node (GET /nodes/:node): too low a role is `forbidden`, not hidden.
  if (role === undefined) throw hidden();
  if (role !== 'owner') {
    throw new AppError(
      'forbidden',
      `only the owners of tenant ${node.tenantId} and platform admins may use the terminal and files of node ${ref}`,
    );
  }
  return { nodeId: node.nodeId };
}

/** Registers `pods.qry.{podWorkspace,nodeWorkspace}`. */
export function registerWorkspaceQueries(deps: PodsDeps): void {
  const { runtime } = deps;
  runtime.serve(
    querySubject('pods', 'podWorkspace'),
    handler(WorkspaceQueries.podWorkspace, async ({ tenantId, podId }, meta): Promise<PodWorkspace> => {
      const what = `pod ${podRef(tenantId, podId)}`;
      await requireTenant(runtime, meta, tenantId, 'member', `using the terminal and files of ${what}`, what);
      const workspace = await findPodWorkspace(deps, tenantId, podId);
      if (!workspace) throw new AppError('not_found', `${what} does not exist or you have no access to it`);
      return workspace;
    }),
  );
  runtime.serve(
    querySubject('pods', 'nodeWorkspace'),
    handler(WorkspaceQueries.nodeWorkspace, ({ nodeId }, meta) => nodeWorkspace(deps, nodeId, meta)),
  );
}
