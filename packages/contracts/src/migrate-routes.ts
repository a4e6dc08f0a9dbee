import { z } from 'zod';
import { NodeId, UnmanagedContainer } from './agent.ts';
import type { ApiRoute } from './api.ts';
import { AdoptPodResult, PodCommands } from './pod-lifecycle.ts';
import { NodeRef } from './pod-routes.ts';
import { PodId } from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * Migration onto AgentPod: finding the containers that run on nodes without it, and adopting one as a pod without
 * restarting it (`agentpod migrate discover|adopt`). The pods service serves both (`pods.qry.discoverContainers`,
 * `pods.cmd.adoptPod`) and asks the nodes' agents.
 */

/** `pods.qry.discoverContainers`: one node (id or name), else every node the caller may adopt on. */
export const DiscoverContainers = z.object({ node: z.string().min(1).max(64).optional() }).strict();

/** An unmanaged container and the node it runs on. */
export const DiscoveredContainer = UnmanagedContainer.extend({ nodeId: NodeId, nodeName: z.string() });
export type DiscoveredContainer = z.infer<typeof DiscoveredContainer>;

export const DiscoverContainersResult = z.object({
  containers: z.array(DiscoveredContainer),
  /** Nodes asked that did not answer (not connected, too slow), and why: their containers are not listed. */
  unreachable: z.array(z.object({ nodeId: NodeId, nodeName: z.string(), error: z.string() })),
});
export type DiscoverContainersResult = z.infer<typeof DiscoverContainersResult>;

/** `POST …/pods/:pod/adopt`: the pods service's command without the ids the path carries. */
export const AdoptPodBody = PodCommands.adoptPod.omit({ tenantId: true, podId: true });

export const migrateRoutes = {
  discoverContainers: {
    method: 'GET',
    path: '/api/v1/migrate/containers',
    summary:
      'Containers running on nodes without AgentPod (platform admins: every node; a tenant owner: the ' +
      "tenant's own nodes), with their ports, mounts and env names (never values)",
    access: 'signedIn',
    query: z.object({ node: NodeRef.optional() }).strict(),
    response: DiscoverContainersResult,
  },
  adoptPod: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/pods/:pod/adopt',
    summary:
      'Adopt a running container as the pod, without restarting it: its desired state is recorded from what runs, ' +
      'its volumes and binds are kept for every later generation (platform admins; a tenant owner on the ' +
      "tenant's own nodes)",
    access: { tenant: 'owner' },
    params: z.object({ tenant: TenantId, pod: PodId }),
    body: AdoptPodBody,
    status: 201,
    response: AdoptPodResult,
  },
} satisfies Record<string, ApiRoute>;
