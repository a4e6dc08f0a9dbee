import { z } from 'zod';
import { NodeFacts, NodeId } from './agent.ts';
import { TenantId } from './tenants.ts';

/*
 * Nodes: the servers pods run on. The pods service owns the registry (a `Node` aggregate per node in the PODS
 * stream, `pods.evt.<nodeId>`), including which pods are placed on it and which host ports they hold, so placement
 * and port allocation are decided on one aggregate and two concurrent creations can never share a port. The
 * identity service owns the node's join token and credential (only their hashes are stored).
 */

/** A node's name: a slug like a tenant id, unique among the nodes not removed. */
export const NodeName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
    'must be 3-32 lower-case letters, digits or inner hyphens, starting with a letter',
  );
export type NodeName = z.infer<typeof NodeName>;

/** A host port held by a pod on a node. */
export const HeldPort = z.object({ hostPort: z.number().int(), protocol: z.enum(['tcp', 'udp']) });

export const nodeEvents = {
  /** Registered by an operator; owned by the platform pool (no tenant) or by one tenant (bring your own server). */
  NodeAdded: z.object({ nodeId: NodeId, name: NodeName, tenantId: TenantId.optional() }),
  /** A pod was placed here: its ports are held and its limits count against the node's capacity. */
  PodPlaced: z.object({
    tenantId: TenantId,
    podId: z.string(),
    ports: z.array(HeldPort),
    memoryBytes: z.number().int().nonnegative(),
    cpus: z.number().nonnegative(),
  }),
  /** A pod's ports changed on update (the pod keeps its place). */
  PodPortsChanged: z.object({ tenantId: TenantId, podId: z.string(), ports: z.array(HeldPort) }),
  /** A pod left (deleted): its ports and capacity are free again. */
  PodReleased: z.object({ tenantId: TenantId, podId: z.string() }),
  /** Removed by an operator: its credential is revoked and its socket dropped. Pods placed here stay recorded. */
  NodeRemoved: z.object({}),
};

export const NodeCommands = {
  addNode: z.object({ name: NodeName, tenantId: TenantId.optional() }).strict(),
  removeNode: z.object({ node: z.string().min(1).max(64) }).strict(),
  /** A new one-time join token for a node that has not joined yet (or must join again). */
  issueJoinToken: z.object({ node: z.string().min(1).max(64) }).strict(),
};

export const NodeQueries = {
  /** Platform admins: every node; others: the nodes of their tenants. */
  listNodes: z.object({ tenantId: TenantId.optional() }).strict(),
  /** By id or by name. */
  getNode: z.object({ node: z.string().min(1).max(64) }).strict(),
};

export const NodeStatus = z.enum(['pending', 'online', 'offline', 'removed']);

export const NodeView = z.object({
  id: NodeId,
  name: NodeName,
  /** The owning tenant; null for the platform pool. */
  tenantId: TenantId.nullable(),
  /** pending: never joined; online: heartbeat within 3 intervals; offline: silent since `lastSeenAt`. */
  status: NodeStatus,
  lastSeenAt: z.string().nullable(),
  facts: NodeFacts.nullable(),
  pods: z.number().int().nonnegative(),
  /** Memory the placed pods' limits reserve, against `facts.memoryBytes`. */
  reservedMemoryBytes: z.number().int().nonnegative(),
  createdAt: z.string(),
});
export type NodeView = z.infer<typeof NodeView>;

export const AddNodeResult = z.object({
  node: NodeView,
  joinToken: z.string(),
  expiresAt: z.string(),
  /** The exact command to run on the server, built from the public URL. */
  installCommand: z.string(),
});
export type AddNodeResult = z.infer<typeof AddNodeResult>;

export const NodeResults = {
  addNode: AddNodeResult,
  removeNode: NodeView,
  issueJoinToken: AddNodeResult,
  listNodes: z.object({ nodes: z.array(NodeView) }),
  getNode: NodeView,
};

/** Join tokens live one hour. */
export const NODE_JOIN_TOKEN_TTL_MS = 3_600_000;
