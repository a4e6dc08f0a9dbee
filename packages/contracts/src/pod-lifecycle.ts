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
};

export const PodQueries = {
  /** A tenant's pods, or (no tenant) every pod the caller may see. */
  listPods: z.object({ tenantId: TenantId.optional() }).strict(),
  getPod: podKey,
  /** The pod's access token in clear (admin and above). */
  podToken: podKey,
  /** Where the pod's current container runs, for logs (viewer and above). */
  logTarget: podKey,
  /** The reconciler only (system actor): the container to create for a generation, secrets decrypted. */
  containerSpec: podKey.extend({ generation: z.number().int().positive() }).strict(),
  countTenantPods: z.object({ tenantId: TenantId }).strict(),
};

/**
 * pending: recorded, no container yet (`message` says why: waiting for the node, node offline…);
 * creating: the reconciler is creating it; running; stopped: stopped on purpose; exited: its process ended and
 * it is not running; failed: the last action failed (`message` holds Docker's error); deleting.
 */
export const PodStatus = z.enum(['pending', 'creating', 'running', 'stopped', 'exited', 'failed', 'deleting']);
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
  /** Restarts after the container's process ended (crashes healed), since the pod was created. */
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

export const PodResults = {
  createPod: CreatePodResult,
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

/** The reconciler's record of what it did to a pod, in the RECONCILER stream (`reconciler.evt.pod_<t>_<p>`). */
export const reconcilerEvents = {
  PodActionSucceeded: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    generation: z.number().int().nonnegative(),
    action: ReconcileAction,
    containerId: z.string().nullable(),
  }),
  PodActionFailed: z.object({
    tenantId: TenantId,
    podId: PodId,
    nodeId: NodeId,
    generation: z.number().int().nonnegative(),
    action: ReconcileAction,
    error: ErrorBody,
  }),
};
