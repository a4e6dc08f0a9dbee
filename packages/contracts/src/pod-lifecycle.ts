import { z } from 'zod';
import { NodeId } from './agent.ts';
import { ErrorBody } from './errors.ts';
import {
  Command,
  ContainerSpec,
  Env,
  EnvKey,
  HealthCheck,
  ImageRef,
  KeptMount,
  LimitsPatch,
  PodId,
  PodSpec,
  PortBinding,
  PortSpec,
  RestartPolicy,
  SecretValues,
} from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * A pod's life as events and the commands and queries around it. The `Pod` aggregate lives in the PODS stream at
 * `pods.evt.pod_<tenant>_<pod>` (`_` cannot occur in a slug, so the id is unambiguous). It records what the
 * operator wants; what runs is observed by agents (AGENT stream) and acted on by the reconciler, which records
 * each action and its outcome in the RECONCILER stream at `reconciler.evt.pod_<tenant>_<pod>`.
 */

export const podAggregateId = (tenantId: string, podId: string): string => `pod_${tenantId}_${podId}`;

/** AES-256-GCM ciphertext of one secret value (or the access token), base64; decrypted only by the pods service. */
export const Encrypted = z
  .object({
    /** Key version, so the key can be rotated. */
    v: z.number().int().positive(),
    iv: z.string(),
    tag: z.string(),
    data: z.string(),
  })
  .strict();
export type Encrypted = z.infer<typeof Encrypted>;

export const podEvents = {
  PodCreated: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    spec: PodSpec,
    /** Secret name → ciphertext. */
    secrets: z.record(z.string(), Encrypted),
    ports: z.array(PortBinding),
    volumeName: z.string().nullable(),
    accessToken: Encrypted,
    /**
     * 1 for a new pod. A pod re-created under the name of a deleted one continues the count of its generations,
     * so its container can never be mistaken for (or collide by name with) the deleted pod's last container.
     */
    generation: z.number().int().positive(),
  }),
  /** A new generation: a new container replaces the old one. */
  PodUpdated: z.object({
    spec: PodSpec,
    secrets: z.record(z.string(), Encrypted),
    ports: z.array(PortBinding),
    generation: z.number().int().min(2),
  }),
  /** The operator wants it stopped (kept, not removed). */
  PodStopped: z.object({}),
  /** The operator wants it running again. */
  PodStarted: z.object({}),
  /** The operator asked for a restart; `restartId` tells one request from the next. */
  PodRestartRequested: z.object({ restartId: z.string() }),
  /** A new access token: a new generation, so the container gets it in its env. */
  PodAccessTokenRotated: z.object({ accessToken: Encrypted, generation: z.number().int().min(2) }),
  PodDeleted: z.object({ keepVolume: z.boolean() }),
  /**
   * A container that ran on the node without AgentPod became this pod, as it runs (never restarted for it): the
   * spec is what it was started with, its env values are kept as secrets (a hand-made container's env often
   * holds passwords), its host ports are the ones it publishes (claimed on the node), and its volumes and binds
   * are `keptMounts` that every later generation mounts again. `containerId` is the container of `generation`:
   * the reconciler's create of that generation takes it over (`ContainerSpec.adopt`) instead of creating one.
   */
  PodAdopted: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    spec: PodSpec,
    secrets: z.record(z.string(), Encrypted),
    ports: z.array(PortBinding),
    keptMounts: z.array(KeptMount),
    accessToken: Encrypted,
    /** 1, or the next after a deleted pod's last one (as PodCreated). */
    generation: z.number().int().positive(),
    containerId: z.string().min(1).max(128),
  }),
};

/** `pod create`: the spec, secret values (encrypted before they are stored) and an optional node (id or name). */
export const CreatePod = z
  .object({
    tenantId: TenantId,
    podId: PodId,
    spec: PodSpec,
    secrets: SecretValues.default({}),
    node: z.string().min(1).max(64).optional(),
  })
  .strict();

/**
 * `pod update`: what changes; env and secrets merge (set, then unset), limits merge field by field, the rest
 * replaces (`cmd: null` and `health: null` remove them).
 */
export const UpdatePod = z
  .object({
    tenantId: TenantId,
    podId: PodId,
    image: ImageRef.optional(),
    cmd: Command.nullable().optional(),
    env: Env.optional(),
    unsetEnv: z.array(EnvKey).max(256).optional(),
    secrets: SecretValues.optional(),
    unsetSecrets: z.array(EnvKey).max(256).optional(),
    ports: z.array(PortSpec).max(16).optional(),
    limits: LimitsPatch.optional(),
    health: HealthCheck.nullable().optional(),
    restart: RestartPolicy.optional(),
  })
  .strict();

const podKey = z.object({ tenantId: TenantId, podId: PodId }).strict();

export const PodCommands = {
  createPod: CreatePod,
  updatePod: UpdatePod,
  stopPod: podKey,
  startPod: podKey,
  restartPod: podKey,
  deletePod: podKey.extend({ keepVolume: z.boolean().default(false) }).strict(),
  rotatePodToken: podKey,
  /** Every pod of a tenant, volumes included: the tenants service (system actor) deleting a tenant with force. */
  deleteTenantPods: z.object({ tenantId: TenantId }).strict(),
  /**
   * `migrate adopt`: a container running on a node without AgentPod becomes the pod, without a restart (platform
   * admins; a tenant's owner on the tenant's own nodes). `container`: its id, id prefix or name; `node`: where it
   * runs (id or name), else looked for on every node the caller may adopt on.
   */
  adoptPod: z
    .object({
      tenantId: TenantId,
      podId: PodId,
      container: z
        .string()
        .min(1)
        .max(255)
        .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be a container id or name'),
      node: z.string().min(1).max(64).optional(),
    })
    .strict(),
};

export const PodQueries = {
  /** A tenant's pods, or (no tenant) every pod the caller may see. */
  listPods: z.object({ tenantId: TenantId.optional() }).strict(),
  getPod: podKey,
  /** The pod's access token in clear (admin and above). */
  podToken: podKey,
  /** The pod's secret values in clear: admin and above (the console's reveal), or the ai service (to redact them). */
  podSecrets: podKey,
  /** Where the pod's current container runs, for logs (viewer and above). */
  logTarget: podKey,
  /** The reconciler only (system actor): the container to create for a generation, secrets decrypted. */
  containerSpec: podKey.extend({ generation: z.number().int().positive() }).strict(),
  countTenantPods: z.object({ tenantId: TenantId }).strict(),
};

/**
 * pending: recorded, no container yet (`message` says why: waiting for the node, node unreachable…);
 * creating: the reconciler is creating it; running; stopped: stopped on purpose; exited: its process ended and
 * it is not running; failed: the last action failed (`message` holds Docker's error); failing: three recoveries
 * in a row failed (crash loop, health check failing, an action failing): the reconciler keeps trying with backoff
 * and an alert was raised (`message` says what failed and when the next try is); deleting.
 */
export const PodStatus = z.enum([
  'pending',
  'creating',
  'running',
  'stopped',
  'exited',
  'failed',
  'failing',
  'deleting',
]);
export type PodStatus = z.infer<typeof PodStatus>;

export const PodHealth = z.enum(['unknown', 'starting', 'healthy', 'unhealthy']);

export const PodView = z.object({
  tenantId: TenantId,
  podId: PodId,
  nodeId: NodeId,
  nodeName: z.string().nullable(),
  generation: z.number().int().positive(),
  desired: z.enum(['running', 'stopped']),
  status: PodStatus,
  message: z.string().nullable(),
  health: PodHealth,
  image: z.string(),
  ports: z.array(PortBinding),
  /**
   * Recoveries the reconciler made (a crash healed, a failing health check restarted) since the pod was created;
   * manual restarts do not count.
   */
  restarts: z.number().int().nonnegative(),
  containerId: z.string().nullable(),
  /** The spec without secret values; `secretNames` lists the secrets. */
  spec: PodSpec,
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type PodView = z.infer<typeof PodView>;

export const CreatePodResult = PodView.extend({
  /** Shown once at creation; `pod token` shows it again to admins. */
  accessToken: z.string(),
});

/** What `migrate adopt` answers: the pod (its access token shown this once), and what was not kept as it ran. */
export const AdoptPodResult = CreatePodResult.extend({
  /** The adopted container: the same one as before, running on. */
  containerId: z.string(),
  /**
   * Where the recorded spec differs from what runs, one sentence each (an unlimited memory recorded as the
   * default limit, say): it applies from the pod's next generation on.
   */
  notes: z.array(z.string()),
});
export type AdoptPodResult = z.infer<typeof AdoptPodResult>;

export const PodResults = {
  createPod: CreatePodResult,
  adoptPod: AdoptPodResult,
  updatePod: PodView,
  stopPod: PodView,
  startPod: PodView,
  restartPod: PodView,
  deletePod: z.object({ deleted: z.literal(true) }),
  rotatePodToken: z.object({ accessToken: z.string(), generation: z.number().int() }),
  deleteTenantPods: z.object({ deleted: z.number().int().nonnegative() }),
  listPods: z.object({ pods: z.array(PodView) }),
  getPod: PodView,
  podToken: z.object({ accessToken: z.string() }),
  podSecrets: z.object({ secrets: SecretValues }),
  logTarget: z.object({ nodeId: NodeId, containerId: z.string() }),
  containerSpec: ContainerSpec,
  countTenantPods: z.object({ count: z.number().int().nonnegative() }),
} satisfies Record<keyof typeof PodCommands | keyof typeof PodQueries, z.ZodType>;
export type PodResult<K extends keyof typeof PodResults> = z.infer<(typeof PodResults)[K]>;

/** Env var that carries the pod's access token into its container. */
export const POD_ACCESS_TOKEN_ENV = 'AGENTPOD_ACCESS_TOKEN';
export const POD_ACCESS_TOKEN_PREFIX = 'apa_';

export const ReconcileAction = z.enum(['create', 'start', 'stop', 'restart', 'recreate', 'remove', 'removeOrphan']);
export type ReconcileAction = z.infer<typeof ReconcileAction>;

/** Why the reconciler (re)started a pod's process on its own: its process ended, or its health check failed. */
export const RecoveryReason = z.enum(['crash', 'unhealthy']);
export type RecoveryReason = z.infer<typeof RecoveryReason>;

/**
 * A start or restart that heals a pod: `attempt` counts the recoveries in a row (1 = the first since the pod last
 * ran healthy for the reset period, made at once; each further one waits 1 s, 2 s, 4 s… up to 5 minutes).
 */
export const Recovery = z.object({ reason: RecoveryReason, attempt: z.number().int().positive() }).strict();
export type Recovery = z.infer<typeof Recovery>;

/** What keeps failing when a pod is marked failing. */
export const FailingReason = z.enum(['crash-loop', 'unhealthy', 'action-failed']);
export type FailingReason = z.infer<typeof FailingReason>;

/** The reconciler's record of what it did to a pod, in the RECONCILER stream (`reconciler.evt.pod_<t>_<p>`). */
export const reconcilerEvents = {
  PodActionSucceeded: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    generation: z.number().int().nonnegative(),
    action: ReconcileAction,
    containerId: z.string().nullable(),
    /** Set when the action healed a crash or a failed health check (absent in events before issue 5). */
    recovery: Recovery.nullable().default(null),
  }),
  PodActionFailed: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    generation: z.number().int().nonnegative(),
    action: ReconcileAction,
    error: ErrorBody,
    recovery: Recovery.nullable().default(null),
  }),
  /**
   * Three recoveries in a row failed (or three actions in a row): the pod is `failing` and an alert is raised.
   * The reconciler keeps trying with backoff; `PodRecovered` ends it.
   */
  PodFailing: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    generation: z.number().int().nonnegative(),
    reason: FailingReason,
    /** Failed recoveries (or failed actions) in a row so far. */
    failures: z.number().int().positive(),
    /** The last exit code of the pod's process, when it ended. */
    exitCode: z.number().int().nullable(),
    /** The last error: Docker's message for a failed action, the health probe's for a failing check. */
    lastError: z.string().max(4_096).nullable(),
    /** One sentence for people: "exited with code 1 4 times in a row; next try in 8 s". */
    summary: z.string().max(1_024),
  }),
  /** A failing pod ran healthy for the reset period (or the operator stopped it, or a new generation runs). */
  PodRecovered: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    generation: z.number().int().nonnegative(),
  }),
};

const actionTarget = {
  tenantId: z.string(),
  podId: z.string(),
  nodeId: z.string(),
  /** The pod's generation (an orphan's: its container's). */
  generation: z.number().int().nonnegative(),
};
/** The event an action carries out (a restart request, a deletion): recorded as its outcome's causation id. */
const actionCause = z.string().nullable();

/** One step the reconciler takes on one pod, on one node (the planner's output; `reconcile --dry-run` shows it). */
export const PlannedAction = z.discriminatedUnion('kind', [
  /** Ask the pods service for the container spec, create the container, start it. */
  z.object({ kind: z.literal('create'), ...actionTarget, cause: actionCause }),
  /** Remove the outdated containers, then create and start the current generation's. */
  z.object({ kind: z.literal('recreate'), ...actionTarget, remove: z.array(z.string()), cause: actionCause }),
  /** Start an ended container; `recovery` when it heals a crash. */
  z.object({
    kind: z.literal('start'),
    ...actionTarget,
    containerId: z.string(),
    cause: actionCause,
    recovery: Recovery.nullable(),
  }),
  z.object({ kind: z.literal('stop'), ...actionTarget, containerId: z.string(), cause: actionCause }),
  /** Restart the process: requested by the operator (cause), or healing a failed health check (`recovery`). */
  z.object({
    kind: z.literal('restart'),
    ...actionTarget,
    containerId: z.string(),
    cause: actionCause,
    recovery: Recovery.nullable(),
  }),
  /** Remove containers and, when `volume` is set, the pod's volume after them. */
  z.object({
    kind: z.literal('remove'),
    ...actionTarget,
    remove: z.array(z.string()),
    volume: z.string().nullable(),
    cause: actionCause,
  }),
  /** Remove labelled containers of a pod that does not exist; their volume is kept (data is never guessed away). */
  z.object({ kind: z.literal('removeOrphan'), ...actionTarget, remove: z.array(z.string()), cause: actionCause }),
  /** No agent operation: record PodFailing (the alert follows from it). */
  z.object({
    kind: z.literal('markFailing'),
    ...actionTarget,
    reason: FailingReason,
    failures: z.number().int().positive(),
    exitCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    summary: z.string(),
    cause: actionCause,
  }),
  /** No agent operation: record PodRecovered. */
  z.object({ kind: z.literal('markRecovered'), ...actionTarget, cause: actionCause }),
]);
export type PlannedAction = z.infer<typeof PlannedAction>;
export type PlannedActionKind = PlannedAction['kind'];

/** A pod the planner leaves alone for now, and until when: backing off after a crash or failure, node unreachable. */
export const PlanWait = z.object({
  ...actionTarget,
  reason: z.enum(['crash-backoff', 'action-backoff', 'node-unreachable']),
  /** ISO time of the next try; null while the node is unreachable. */
  until: z.string().nullable(),
  /** The recovery or retry attempt the next try will be. */
  attempt: z.number().int().nonnegative(),
});
export type PlanWait = z.infer<typeof PlanWait>;

/** What one reconcile pass would do: `reconciler.qry.plan`, `agentpod reconcile --dry-run`. */
export const ReconcilePlan = z.object({ actions: z.array(PlannedAction), waits: z.array(PlanWait) });
export type ReconcilePlan = z.infer<typeof ReconcilePlan>;
