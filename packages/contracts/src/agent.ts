import { z } from 'zod';
import { ErrorBody } from './errors.ts';
import { METRICS_SAMPLES_PER_FRAME, MetricsSample } from './metrics.ts';
import { ContainerSpec, PodId } from './pods.ts';
import { TenantId } from './tenants.ts';
import { workspaceAgentOps } from './workspace.ts';

/*
 * The node agent's side of the system: what it observes (events of the AGENT stream, one aggregate per node at
 * `agent.evt.<nodeId>`, appended by the gateway on the node's behalf), the operations the control plane asks of
 * it (request/reply on `agent.<nodeId>.cmd.<op>`), and the frames of the WebSocket that carries both between the
 * agent and the gateway. The agent dials out; the gateway relays and lets a node touch only its own subjects.
 */

/** A node id: `nod_` and 20–40 lower-case letters or digits; one NATS subject token. */
export const NodeId = z.string().regex(/^nod_[a-z0-9]{20,40}$/, 'must be a node id (nod_…)');
export type NodeId = z.infer<typeof NodeId>;

/** What a node reports about itself on every (re)connect. */
export const NodeFacts = z.object({
  hostname: z.string().max(255),
  os: z.string().max(255),
  arch: z.string().max(64),
  cpus: z.number().int().positive(),
  memoryBytes: z.number().int().nonnegative(),
  diskBytes: z.number().int().nonnegative(),
  diskFreeBytes: z.number().int().nonnegative(),
  /** null when the agent cannot reach Docker. */
  dockerVersion: z.string().max(64).nullable(),
  agentVersion: z.string().max(64),
});
export type NodeFacts = z.infer<typeof NodeFacts>;

export const ContainerState = z.enum(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead']);
export type ContainerState = z.infer<typeof ContainerState>;

/**
 * What AgentPod's health probe says about a running container (`PodSpec.health`, run by the agent):
 * `starting` until the first successful probe after a start, `healthy` after a success, `unhealthy` after
 * `failureThreshold` consecutive failures outside the start grace period.
 */
export const ProbeHealth = z.enum(['starting', 'healthy', 'unhealthy']);
export type ProbeHealth = z.infer<typeof ProbeHealth>;

/** A published port: `hostIp:hostPort` on the node → `containerPort/protocol` in the container. */
export const ObservedPort = z.object({
  containerPort: z.number().int(),
  protocol: z.enum(['tcp', 'udp']),
  hostIp: z.string(),
  hostPort: z.number().int(),
});
export type ObservedPort = z.infer<typeof ObservedPort>;

/** One AgentPod-labelled container as the node's engine sees it (the agent's inventory entry). */
export const ObservedContainer = z.object({
  id: z.string().min(1).max(128),
  name: z.string().max(255),
  tenantId: z.string().max(64),
  podId: z.string().max(64),
  generation: z.number().int().nonnegative(),
  image: z.string().max(512),
  imageId: z.string().max(256),
  state: ContainerState,
  /** The main process's pid on the host while it runs. */
  pid: z.number().int().nullable(),
  exitCode: z.number().int().nullable(),
  oomKilled: z.boolean(),
  /** The engine's error from the last start (a missing executable, say). */
  error: z.string().max(4_096).nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  restartCount: z.number().int().nonnegative(),
  ports: z.array(ObservedPort),
  /**
   * AgentPod's probe of the container's current run (`agentpod.health` label); null when it has no check or
   * does not run. The image's own Docker HEALTHCHECK is not reported.
   */
  health: ProbeHealth.nullable(),
  volume: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
});
export type ObservedContainer = z.infer<typeof ObservedContainer>;

/** One mount of a container, as the engine reports it. */
export const ContainerMount = z.object({
  /** `volume`, `bind`, `tmpfs`… */
  type: z.string().max(32),
  /** The volume's name, or the host path of a bind; empty for a tmpfs. */
  source: z.string().max(4_096),
  destination: z.string().max(4_096),
  readOnly: z.boolean(),
});
export type ContainerMount = z.infer<typeof ContainerMount>;

/**
 * A container on a node that AgentPod does not manage: no `agentpod.pod` label and not adopted (`migrate
 * discover`). Its environment's values never leave the node in a listing: only their names.
 */
export const UnmanagedContainer = z.object({
  id: z.string().min(1).max(128),
  name: z.string().max(255),
  image: z.string().max(512),
  state: ContainerState,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  /** As bound now: a port published on a random host port shows the one it got. */
  ports: z.array(ObservedPort),
  mounts: z.array(ContainerMount),
  envKeys: z.array(z.string()),
});
export type UnmanagedContainer = z.infer<typeof UnmanagedContainer>;

/**
 * What runs in an unmanaged container, for the pods service to record as an adopted pod's desired state
 * (`describeContainer`). Env values are here, for the pods service only (which stores them encrypted).
 */
export const ContainerDescription = z.object({
  container: UnmanagedContainer,
  /** Its argv when it differs from the image's default; null: the image's own. */
  cmd: z.array(z.string()).nullable(),
  /** Its entrypoint when it differs from the image's; null: the image's own (the only kind a pod can have). */
  entrypoint: z.array(z.string()).nullable(),
  /** The variables it was started with, but those the image itself sets to the same value. */
  env: z.record(z.string(), z.string()),
  /** Docker's restart policy: `no`, `always`, `unless-stopped` or `on-failure`. */
  restartPolicy: z.string().max(32),
  /** Docker's limits; null where it has none. */
  limits: z.object({
    memoryBytes: z.number().int().nullable(),
    cpus: z.number().nullable(),
    pids: z.number().int().nullable(),
  }),
  /**
   * What AgentPod never runs, one sentence each: privileged mode, the host's namespaces, devices, added
   * capabilities, the Docker socket. A container with any of these is not adopted.
   */
  escalations: z.array(z.string()),
});
export type ContainerDescription = z.infer<typeof ContainerDescription>;

export const LogLine = z.object({
  stream: z.enum(['stdout', 'stderr']),
  /** RFC 3339, from the engine. */
  time: z.string(),
  text: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;

export const RuntimeEventAction = z.enum(['start', 'die', 'oom', 'kill', 'destroy']);

/**
 * Events of the AGENT stream: one aggregate per node (`agent.evt.<nodeId>`), actor `{ kind: 'node', id }`.
 * They are observations, not decisions: the latest inventory replaces everything known about the node's
 * containers, and a container event updates one container.
 */
export const agentEvents = {
  /** The node's agent opened its socket on a gateway instance. */
  NodeConnected: z.object({ facts: NodeFacts, gatewayInstance: z.string() }),
  /** The socket closed (agent gone, credential revoked, gateway stopping); `reason` says which. */
  NodeDisconnected: z.object({ reason: z.string().max(512) }),
  /** Every AgentPod-labelled container on the node; sent on every (re)connect and after each change burst. */
  InventoryReported: z.object({ containers: z.array(ObservedContainer) }),
  /** One container changed state; `container` is its state after the change (null once destroyed). */
  ContainerChanged: z.object({
    action: RuntimeEventAction,
    containerId: z.string(),
    tenantId: z.string(),
    podId: z.string(),
    generation: z.number().int().nonnegative(),
    exitCode: z.number().int().nullable(),
    container: ObservedContainer.nullable(),
  }),
  /**
   * The agent's health probe of one container changed its verdict (sent on changes only, never per probe).
   * A new start of the container begins again at `starting`; `startedAt` says which run a verdict is about, so a
   * verdict about an earlier run (the agent restarted meanwhile) is recognisably stale.
   */
  HealthChanged: z.object({
    containerId: z.string(),
    tenantId: z.string(),
    podId: z.string(),
    generation: z.number().int().nonnegative(),
    /** The container's `startedAt` (ObservedContainer) of the run the probes were about. */
    startedAt: z.string().nullable(),
    status: ProbeHealth,
    /** Consecutive failed probes that counted (failures within the start grace period do not). */
    failures: z.number().int().nonnegative(),
    /** The last failed probe's reason (a status code, a refused connection, a timeout); null after a success. */
    lastError: z.string().max(1_024).nullable(),
  }),
};

const empty = z.object({}).strict();
const containerRef = z.object({ containerId: z.string().min(1).max(255) }).strict();

/**
 * Operations an agent serves on `agent.<nodeId>.cmd.<op>` (kit request/reply: `{ meta, data }` in, `Reply` out).
 * Every operation is idempotent: a retry after a lost reply does no harm.
 */
export const AgentOps = {
  facts: { input: empty, output: NodeFacts },
  inventory: { input: empty, output: z.object({ containers: z.array(ObservedContainer) }) },
  /** Creates (not starts) the container of one generation; the existing one when it is there already. */
  createContainer: {
    input: z.object({ spec: ContainerSpec }).strict(),
    output: z.object({ containerId: z.string(), created: z.boolean() }),
  },
  startContainer: { input: containerRef, output: empty },
  stopContainer: {
    input: containerRef.extend({ timeoutSeconds: z.number().int().min(0).max(300).default(10) }).strict(),
    output: empty,
  },
  restartContainer: { input: containerRef, output: empty },
  /** Removes the container; with `volume`, the pod's named volume too. Missing: success. */
  removeContainer: {
    input: containerRef.extend({ volume: z.string().max(255).optional() }).strict(),
    output: empty,
  },
  removeVolume: { input: z.object({ name: z.string().min(1).max(255) }).strict(), output: empty },
  /** Containers on the node AgentPod does not manage (env names only). */
  discoverContainers: { input: empty, output: z.object({ containers: z.array(UnmanagedContainer) }) },
  /** One unmanaged container in full (env values included), by id, id prefix or name; `conflict` if managed. */
  describeContainer: { input: containerRef, output: ContainerDescription },
  /**
   * Takes an unmanaged container over without restarting it: recorded in the agent's adoption registry (from
   * then on reported like a labelled container of the pod), renamed to the generation's container name, its
   * Docker restart policy set to `no` (the reconciler heals). Again with the same pod: the same answer.
   */
  adoptContainer: {
    input: containerRef
      .extend({
        tenantId: TenantId,
        podId: PodId,
        generation: z
          .number()
          .int()
          .min(1)
          .max(2 ** 31 - 1),
      })
      .strict(),
    output: ObservedContainer,
  },
  /**
   * The last `tail` lines. With `sessionId` the agent then keeps following and publishes each line as a
   * `LogStreamMessage` on `agent.<nodeId>.session.<sessionId>.out` until the container stops or a `close` arrives
   * on `…session.<sessionId>.in`.
   */
  logs: {
    input: containerRef
      .extend({
        tail: z.number().int().min(0).max(10_000).default(100),
        sessionId: z
          .string()
          .regex(/^[A-Za-z0-9_-]{8,64}$/)
          .optional(),
      })
      .strict(),
    output: z.object({ lines: z.array(LogLine) }),
  },
  ...workspaceAgentOps,
} as const;
export type AgentOp = keyof typeof AgentOps;
export type AgentOpInput<K extends AgentOp> = z.input<(typeof AgentOps)[K]['input']>;
export type AgentOpOutput<K extends AgentOp> = z.infer<(typeof AgentOps)[K]['output']>;

/** What a followed log session carries on its `.out` subject: lines, then one `end`. */
export const LogStreamMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('line'), line: LogLine }),
  z.object({ t: z.literal('end'), error: ErrorBody.optional() }),
]);
export type LogStreamMessage = z.infer<typeof LogStreamMessage>;

/** What a session's `.in` subject carries from the control plane to the agent. */
export const SessionControl = z.discriminatedUnion('t', [z.object({ t: z.literal('close') })]);

/** Largest frame either side accepts on the agent socket. */
export const MAX_AGENT_FRAME_BYTES = 8 * 1024 * 1024;

/** Seconds between the agent's heartbeats; the control plane calls a node unreachable after 3 missed ones. */
export const AGENT_HEARTBEAT_SECONDS = 3;

/**
 * Frames from the agent to the gateway (JSON text frames).
 * - `hello`: first frame after connecting; the gateway records NodeConnected and InventoryReported.
 * - `hb`: heartbeat; the gateway publishes it on core NATS `agent.<nodeId>.heartbeat`.
 * - `obs`: an observation to append to the node's AGENT aggregate.
 * - `res`: the reply (a kit `Reply`, as JSON text) to a `req` with the same id.
 * - `pub`: bytes for one of the node's own session subjects (`session.<id>.out`); anything else is refused.
 * - `metrics`: sampling rounds (the latest, or a backlog after a reconnect, oldest first); the gateway publishes
 *   them on core NATS `agent.<nodeId>.metrics` as a MetricsMessage.
 */
export const AgentFrame = z.discriminatedUnion('t', [
  z.object({ t: z.literal('hello'), facts: NodeFacts, containers: z.array(ObservedContainer) }).strict(),
  z.object({ t: z.literal('hb'), at: z.string() }).strict(),
  z
    .object({
      t: z.literal('obs'),
      /** Unique per observation (UUID v7): the event id, so a re-sent observation is stored once. */
      id: z.uuid(),
      type: z.enum(['InventoryReported', 'ContainerChanged', 'HealthChanged']),
      data: z.unknown(),
    })
    .strict(),
  z.object({ t: z.literal('res'), id: z.string().min(1).max(64), reply: z.string() }).strict(),
  z
    .object({
      t: z.literal('pub'),
      /** The session id; the subject is built by the gateway, never taken from the node. */
      session: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
      data: z.string(),
    })
    .strict(),
  z.object({ t: z.literal('metrics'), samples: z.array(MetricsSample).min(1).max(METRICS_SAMPLES_PER_FRAME) }).strict(),
]);
export type AgentFrame = z.infer<typeof AgentFrame>;

/**
 * Frames from the gateway to the agent.
 * - `req`: a request that arrived on `agent.<nodeId>.cmd.<op>`; `body` is its JSON text (`{ meta, data }`).
 * - `session`: bytes that arrived on `agent.<nodeId>.session.<session>.in`.
 * - `bye`: the gateway is closing the socket, and why (revoked credential, node removed, shutdown).
 */
export const GatewayFrame = z.discriminatedUnion('t', [
  z.object({ t: z.literal('req'), id: z.string(), op: z.string(), body: z.string() }).strict(),
  z.object({ t: z.literal('session'), session: z.string(), data: z.string() }).strict(),
  z.object({ t: z.literal('bye'), reason: z.string() }).strict(),
]);
export type GatewayFrame = z.infer<typeof GatewayFrame>;

/** Header carrying the node credential on the agent's WebSocket upgrade and join requests. */
export const NODE_CREDENTIAL_PREFIX = 'apn_';
export const NODE_JOIN_TOKEN_PREFIX = 'apj_';
