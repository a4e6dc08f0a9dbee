import { z } from 'zod';
import { LogLine } from './agent.ts';
import type { ApiRoute } from './api.ts';
import { AgentJoinResult } from './identity.ts';
import { AddNodeResult, NodeName, NodeView } from './nodes.ts';
import { CreatePod, CreatePodResult, PodView, UpdatePod } from './pod-lifecycle.ts';
import { findEscalations, PodId, SecretValues } from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * The REST routes of nodes, pods and the agent's join, as entries of the route table (`routes` in api.ts spreads
 * them in). Bodies are the pods service's own command schemas without the parts the path names, so the console,
 * the CLI and the service validate one shape.
 */

/** A node as the API names it: its id (`nod_…`) or its name. */
export const NodeRef = z
  .string()
  .max(64)
  .regex(/^(?:nod_[a-z0-9]{20,40}|[a-z][a-z0-9-]{1,30}[a-z0-9])$/, 'must be a node id (nod_…) or a node name');

const nodeParams = z.object({ node: NodeRef });
const tenantParams = z.object({ tenant: TenantId });
const podParams = z.object({ tenant: TenantId, pod: PodId });
const AddNodeBody = z.object({ name: NodeName }).strict();
const QueryFlag = z.enum(['true', 'false']).default('false');

/**
 * A pod body refused, naming it, when it asks for an escalation (privileged mode, host namespaces, devices, added
 * capabilities, host binds, the Docker socket), before the strict schema would only call the field unknown. The
 * pods service applies the same policy again. Typed as the schema it wraps: that is what it accepts and returns.
 */
function refusingEscalations<S extends z.ZodType>(schema: S): z.ZodType<z.output<S>, z.input<S>> {
  return z.preprocess((value, ctx) => {
    for (const message of findEscalations(value)) {
      ctx.addIssue({ code: 'custom', message: `refused: ${message}`, input: value });
    }
    return value;
  }, schema) as unknown as z.ZodType<z.output<S>, z.input<S>>;
}

/** `POST /tenants/:tenant/pods`: a pod of the tenant in the path (CreatePod without its tenantId). */
export const CreatePodBody = refusingEscalations(CreatePod.omit({ tenantId: true }));
/** `PATCH /tenants/:tenant/pods/:pod`: what changes (UpdatePod without the ids the path carries). */
export const UpdatePodBody = refusingEscalations(UpdatePod.omit({ tenantId: true, podId: true }));

export const nodeRoutes = {
  listNodes: {
    method: 'GET',
    path: '/api/v1/nodes',
    summary: "Nodes the caller can see: every node for a platform admin, else their tenants' own nodes",
    access: 'signedIn',
    response: z.object({ nodes: z.array(NodeView) }),
  },
  addNode: {
    method: 'POST',
    path: '/api/v1/nodes',
    summary: 'Register a node of the platform pool; answers a one-time join token (1 hour) and the install command',
    access: 'platformAdmin',
    body: AddNodeBody,
    status: 201,
    response: AddNodeResult,
  },
  addTenantNode: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/nodes',
    summary: "Register a node owned by one tenant (bring your own server); only that tenant's pods run on it",
    access: { tenant: 'owner' },
    params: tenantParams,
    body: AddNodeBody,
    status: 201,
    response: AddNodeResult,
  },
  getNode: {
    method: 'GET',
    path: '/api/v1/nodes/:node',
    summary: "One node, by id or name (platform admins; a tenant's members for the tenant's own nodes)",
    access: 'signedIn',
    params: nodeParams,
    response: NodeView,
  },
  removeNode: {
    method: 'DELETE',
    path: '/api/v1/nodes/:node',
    summary:
      'Remove a node (platform admins; a tenant owner for the tenant’s own nodes): its credential is revoked and ' +
      'its agent disconnected at once; its pods stay recorded',
    access: 'signedIn',
    params: nodeParams,
    response: NodeView,
  },
  issueNodeJoinToken: {
    method: 'POST',
    path: '/api/v1/nodes/:node/join-token',
    summary: 'A new one-time join token for a node (to join again); same rights as removing it',
    access: 'signedIn',
    params: nodeParams,
    status: 201,
    response: AddNodeResult,
  },
  agentJoin: {
    method: 'POST',
    path: '/api/v1/agent/join',
    summary:
      "Trade a node's one-time join token for its long-lived node credential and the URL its agent dials " +
      '(called by agentpod-agent join)',
    access: 'public',
    body: z.object({ token: z.string().min(20).max(200) }).strict(),
    response: AgentJoinResult,
  },
  localNode: {
    method: 'POST',
    path: '/api/v1/admin/local-node',
    summary:
      'Add (or reuse) the platform node named `local` and answer a fresh join token; needs the bootstrap secret ' +
      'from the control-plane host (used by the agent that `npm start` runs)',
    access: 'public',
    response: AddNodeResult,
  },
} satisfies Record<string, ApiRoute>;

export const podRoutes = {
  listPods: {
    method: 'GET',
    path: '/api/v1/pods',
    summary: 'Pods the caller can see (every pod for a platform admin), or those of one tenant',
    access: 'signedIn',
    query: z.object({ tenant: TenantId.optional() }).strict(),
    response: z.object({ pods: z.array(PodView) }),
  },
  listTenantPods: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/pods',
    summary: "A tenant's pods",
    access: { tenant: 'viewer' },
    params: tenantParams,
    response: z.object({ pods: z.array(PodView) }),
  },
  createPod: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/pods',
    summary:
      'Create a pod: records it, places it on a node with room, allocates its host ports; answers at once (the ' +
      'reconciler starts it) with its access token, shown this once',
    access: { tenant: 'member' },
    params: tenantParams,
    body: CreatePodBody,
    status: 201,
    response: CreatePodResult,
  },
  getPod: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/pods/:pod',
    summary: 'One pod: its spec (without secret values), placement, ports, status and health',
    access: { tenant: 'viewer' },
    params: podParams,
    response: PodView,
  },
  updatePod: {
    method: 'PATCH',
    path: '/api/v1/tenants/:tenant/pods/:pod',
    summary: 'Change a pod (a new generation: its container is replaced); env and secrets merge',
    access: { tenant: 'member' },
    params: podParams,
    body: UpdatePodBody,
    response: PodView,
  },
  deletePod: {
    method: 'DELETE',
    path: '/api/v1/tenants/:tenant/pods/:pod',
    summary: 'Delete a pod: its container and (unless keepVolume=true) its volume are removed, its ports freed',
    access: { tenant: 'member' },
    params: podParams,
    query: z.object({ keepVolume: QueryFlag }).strict(),
    status: 204,
  },
  stopPod: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/pods/:pod/stop',
    summary: 'Stop a pod and keep it stopped (kept, not removed)',
    access: { tenant: 'member' },
    params: podParams,
    response: PodView,
  },
  startPod: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/pods/:pod/start',
    summary: 'Run a stopped pod again',
    access: { tenant: 'member' },
    params: podParams,
    response: PodView,
  },
  restartPod: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/pods/:pod/restart',
    summary: "Restart a pod's container",
    access: { tenant: 'member' },
    params: podParams,
    response: PodView,
  },
  podToken: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/pods/:pod/token',
    summary: "The pod's access token (tenant admins)",
    access: { tenant: 'admin' },
    params: podParams,
    response: z.object({ accessToken: z.string() }),
  },
  podSecrets: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/pods/:pod/secrets',
    summary: "The pod's secret values in clear (tenant admins and owners)",
    access: { tenant: 'admin' },
    params: podParams,
    response: z.object({ secrets: SecretValues }),
  },
  rotatePodToken: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/pods/:pod/token/rotate',
    summary: 'A new access token (the old one stops working; a new generation carries it into the container)',
    access: { tenant: 'admin' },
    params: podParams,
    response: z.object({ accessToken: z.string(), generation: z.number().int() }),
  },
  podLogs: {
    method: 'GET',
    path: '/api/v1/tenants/:tenant/pods/:pod/logs',
    summary:
      "The last `tail` lines of the pod's container, from its node; follow=true answers NDJSON " +
      '(application/x-ndjson), one LogLine per line, then every new line until the client disconnects or the ' +
      'container stops (a last `{ "error": … }` line when the stream fails)',
    access: { tenant: 'viewer' },
    params: podParams,
    query: z
      .object({
        tail: z.coerce.number().int().min(0).max(10_000).default(100),
        follow: QueryFlag,
      })
      .strict(),
    response: z.object({ lines: z.array(LogLine) }),
  },
} satisfies Record<string, ApiRoute>;
