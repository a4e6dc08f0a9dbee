import { z } from 'zod';
import { NodeFacts, NodeId } from './agent.ts';
import { PodId } from './pods.ts';
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
export type HeldPort = z.infer<typeof HeldPort>;

export const nodeEvents = {
  /** Registered by an operator; owned by the platform pool (no tenant) or by one tenant (bring your own server). */
  NodeAdded: z.object({ nodeId: NodeId, name: NodeName, tenantId: TenantId.optional() }),
  /**
   * A pod was placed here: its ports are held and its limits count against the node's capacity. `ports` lists
   * the host ports in the order of the pod spec's ports.
   */
  PodPlaced: z.object({
    tenantId: TenantId,
    podId: PodId,
    ports: z.array(HeldPort),
    memoryBytes: z.number().int().nonnegative(),
    cpus: z.number().nonnegative(),
  }),
  /**
   * What a placed pod holds changed (an update; the pod keeps its place): `ports` is the complete set now held.
   * While an update is under way it holds its old and its new ports, so the container still running never
   * loses a port it uses; once the update is stored (or has failed) the ports it no longer needs are dropped.
   */
  PodPlacementChanged: z.object({
    tenantId: TenantId,
    podId: PodId,
    ports: z.array(HeldPort),
    memoryBytes: z.number().int().nonnegative(),
    cpus: z.number().nonnegative(),
  }),
  /** A pod left (deleted, or a creation that failed was undone): its ports and capacity are free again. */
  PodReleased: z.object({ tenantId: TenantId, podId: PodId }),
  /** Removed by an operator: its credential is revoked and its socket dropped. Pods placed here stay recorded. */
  NodeRemoved: z.object({}),
};

/** The aggregate that makes a node name unique among live nodes: `pods.evt.nodename_<name>`. */
export const nodeNameAggregateId = (name: string): string => `nodename_${name}`;

/*
 * Events of the name claim (`pods.evt.nodename_<name>`). The first claim on a new subject wins the
 * optimistic-concurrency race, so two nodes added with one name at once end up with one node. Removing the node
 * releases its name; a claim whose node was never added (a crash between the two appends) is taken over later.
 */
export const nodeNameEvents = {
  NodeNameClaimed: z.object({ name: NodeName, nodeId: NodeId }),
  NodeNameReleased: z.object({ name: NodeName, nodeId: NodeId }),
};

export const NodeCommands = {
  /**
   * `reuse`: when a live node of that name and owner exists, issue a fresh join token for it instead of refusing
   * (the local node of `npm start`).
   */
  addNode: z.object({ name: NodeName, tenantId: TenantId.optional(), reuse: z.boolean().optional() }).strict(),
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

export const NodeStatus = z.enum(['pending', 'online', 'unreachable', 'removed']);
export type NodeStatus = z.infer<typeof NodeStatus>;

export const NodeView = z.object({
  id: NodeId,
  name: NodeName,
  /** The owning tenant; null for the platform pool. */
  tenantId: TenantId.nullable(),
  /**
   * pending: never joined; online: a heartbeat within the last 3 intervals (9 s); unreachable: its agent's socket
   * closed, or no heartbeat for 3 intervals, since `lastSeenAt` (its pods are left as they are); removed.
   */
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
} satisfies Record<keyof typeof NodeCommands | keyof typeof NodeQueries, z.ZodType>;
export type NodeResult<K extends keyof typeof NodeResults> = z.infer<(typeof NodeResults)[K]>;

/** Join tokens live one hour. */
export const NODE_JOIN_TOKEN_TTL_MS = 3_600_000;
