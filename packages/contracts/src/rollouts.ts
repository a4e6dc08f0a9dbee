import { z } from 'zod';
import { Actor } from './actor.ts';
import type { ApiRoute } from './api.ts';
import { ImageRef, PodId } from './pods.ts';
import { TenantId } from './tenants.ts';

/*
 * Rolling upgrades: a `Rollout` aggregate in the PODS stream (`pods.evt.rollout_<rolloutId>`) records which pods
 * move to which image, and how each one fared. The pods service drives running rollouts itself (one leader among
 * its replicas), so a rollout goes on when the CLI that started it is closed, and resumes after a restart. Pods go
 * up to `maxUnavailable` at a time: each gets the new image (a new generation), and must then run and be healthy
 * (its health check says `healthy`; without a check: running for `settleSeconds` without a crash) within
 * `timeoutSeconds`. The first pod that does not is rolled back to its previous image (a newer generation again)
 * and the rollout stops there: pods not yet upgraded are left untouched.
 */

/** A rollout's id: `rol_` and 20 lower-case letters or digits. */
export const RolloutId = z.string().regex(/^rol_[a-z0-9]{20}$/, 'must be a rollout id (rol_…)');
export type RolloutId = z.infer<typeof RolloutId>;

export const rolloutAggregateId = (rolloutId: string): string => `rollout_${rolloutId}`;

/** One pod of a rollout, as it was when the rollout started: what a rollback returns it to. */
export const RolloutTarget = z.object({
  tenantId: TenantId,
  podId: PodId,
  fromImage: ImageRef,
  fromGeneration: z.number().int().positive(),
});
export type RolloutTarget = z.infer<typeof RolloutTarget>;

/** How long a pod may take. */
export const RolloutTimeouts = z
  .object({
    /** From the image update until the new generation must be running and healthy. */
    timeoutSeconds: z.number().int().min(1).max(3_600).default(300),
    /** A pod without a health check counts as healthy once it has run this long without a crash. */
    settleSeconds: z.number().int().min(0).max(600).default(10),
  })
  .strict();
export type RolloutTimeouts = z.infer<typeof RolloutTimeouts>;

const podKey = { tenantId: TenantId, podId: PodId };

export const rolloutEvents = {
  RolloutStarted: z.object({
    rolloutId: RolloutId,
    /** The tenant every target belongs to; null for a rollout across every tenant (platform admins only). */
    tenantId: TenantId.nullable(),
    /** In the order they are upgraded. */
    targets: z.array(RolloutTarget).min(1),
    image: ImageRef,
    maxUnavailable: z.number().int().positive(),
    timeouts: RolloutTimeouts,
  }),
  /** The pod was given the new image: `generation` is the one to wait for; `restartsBefore` its recoveries then. */
  RolloutPodUpgrading: z.object({
    ...podKey,
    generation: z.number().int().positive(),
    restartsBefore: z.number().int().nonnegative(),
  }),
  RolloutPodHealthy: z.object({ ...podKey, generation: z.number().int().positive() }),
  /**
   * The pod did not become healthy (or could not be updated): the rollout stops. `rollback`: its previous image
   * is to be restored (false when nothing changed, or when it was deleted or changed by someone else meanwhile).
   */
  RolloutPodFailed: z.object({
    ...podKey,
    generation: z.number().int().positive().nullable(),
    reason: z.string().max(1_024),
    rollback: z.boolean(),
  }),
  /** The pod was given its previous image again: `generation` (null when the pod was gone by then). */
  RolloutPodRolledBack: z.object({
    ...podKey,
    generation: z.number().int().positive().nullable(),
    image: ImageRef,
  }),
  /** Left out before its turn: deleted, or stopped. */
  RolloutPodSkipped: z.object({ ...podKey, reason: z.string().max(1_024) }),
  RolloutSucceeded: z.object({}),
  /** `reason` names the pod that failed and why. */
  RolloutFailed: z.object({
    reason: z.string().max(1_024),
    tenantId: TenantId.nullable(),
    podId: PodId.nullable(),
  }),
  /** Stopped by a person: pods not yet upgraded stay as they are, pods upgrading keep their new image. */
  RolloutCancelled: z.object({}),
};

/** `startRollout` input: named pods of one tenant, every running pod of a tenant, or every running pod of all. */
const startFields = z
  .object({
    /** Required with `pods`; with `all`, absent means every tenant. */
    tenantId: TenantId.optional(),
    pods: z.array(PodId).min(1).max(1_000).optional(),
    all: z.boolean().optional(),
    image: ImageRef,
    maxUnavailable: z.number().int().min(1).max(100).default(1),
    timeoutSeconds: z.number().int().min(1).max(3_600).optional(),
    settleSeconds: z.number().int().min(0).max(600).optional(),
  })
  .strict();

type StartFields = { tenantId?: string | undefined; pods?: string[] | undefined; all?: boolean | undefined };

/** What to upgrade must be said one way: `pods` (of `tenantId`, no repeats) or `all`. */
function checkSelection(input: StartFields, ctx: z.RefinementCtx, tenantRequired: boolean) {
  const named = input.pods !== undefined;
  if (named === (input.all === true)) {
    ctx.addIssue({ code: 'custom', path: ['pods'], message: 'name the pods to upgrade, or set all (not both)' });
  }
  if (named && tenantRequired && input.tenantId === undefined) {
    ctx.addIssue({ code: 'custom', path: ['tenantId'], message: 'the tenant of the named pods is required' });
  }
  const repeated = input.pods?.find((pod, index) => input.pods?.indexOf(pod) !== index);
  if (repeated !== undefined) ctx.addIssue({ code: 'custom', path: ['pods'], message: `${repeated} is named twice` });
}

export const StartRollout = startFields.superRefine((input, ctx) => checkSelection(input, ctx, true));
export type StartRollout = z.infer<typeof StartRollout>;

export const RolloutCommands = {
  startRollout: StartRollout,
  /** Stops a running rollout where it is. */
  cancelRollout: z.object({ rolloutId: RolloutId }).strict(),
};

export const RolloutStatus = z.enum(['running', 'succeeded', 'failed', 'cancelled']);
export type RolloutStatus = z.infer<typeof RolloutStatus>;

export const RolloutQueries = {
  getRollout: z.object({ rolloutId: RolloutId }).strict(),
  /** Newest first: a tenant's, or every rollout the caller may see. */
  listRollouts: z.object({ tenantId: TenantId.optional(), status: RolloutStatus.optional() }).strict(),
};

/**
 * pending: not yet its turn; upgrading: has the new image, waiting for it to be healthy; healthy: done;
 * failed: did not become healthy (a rollback follows when `rollback` is set); rolledBack: back on its previous
 * image; skipped: deleted or stopped before its turn.
 */
export const RolloutPodPhase = z.enum(['pending', 'upgrading', 'healthy', 'failed', 'rolledBack', 'skipped']);
export type RolloutPodPhase = z.infer<typeof RolloutPodPhase>;

export const RolloutPodView = RolloutTarget.extend({
  phase: RolloutPodPhase,
  /** The generation the upgrade made; then the one the rollback made. */
  generation: z.number().int().positive().nullable(),
  rollbackGeneration: z.number().int().positive().nullable(),
  /** Why it failed or was skipped. */
  reason: z.string().nullable(),
  /** When its upgrade was issued, and when it ended (healthy, failed, rolled back). */
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
});
export type RolloutPodView = z.infer<typeof RolloutPodView>;

export const RolloutView = z.object({
  id: RolloutId,
  tenantId: TenantId.nullable(),
  image: ImageRef,
  maxUnavailable: z.number().int().positive(),
  timeouts: RolloutTimeouts,
  status: RolloutStatus,
  /** Why it failed. */
  reason: z.string().nullable(),
  startedBy: Actor,
  pods: z.array(RolloutPodView),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  updatedAt: z.string(),
});
export type RolloutView = z.infer<typeof RolloutView>;

export const RolloutResults = {
  startRollout: RolloutView,
  cancelRollout: RolloutView,
  getRollout: RolloutView,
  listRollouts: z.object({ rollouts: z.array(RolloutView) }),
} satisfies Record<keyof typeof RolloutCommands | keyof typeof RolloutQueries, z.ZodType>;
export type RolloutResult<K extends keyof typeof RolloutResults> = z.infer<(typeof RolloutResults)[K]>;

/** `POST /tenants/:tenant/rollouts`: named pods of the tenant, or all of its running pods. */
export const StartTenantRolloutBody = startFields
  .omit({ tenantId: true })
  .superRefine((input, ctx) => checkSelection(input, ctx, false));
/** `POST /rollouts`: every running pod of every tenant (platform admins). */
export const StartPlatformRolloutBody = startFields
  .omit({ tenantId: true, pods: true })
  .extend({ all: z.literal(true) });

const rolloutParams = z.object({ rollout: RolloutId });

export const rolloutRoutes = {
  startTenantRollout: {
    method: 'POST',
    path: '/api/v1/tenants/:tenant/rollouts',
    summary:
      'Upgrade pods of a tenant to an image, a few at a time, waiting for each to be healthy; the first that is ' +
      'not is rolled back and the rollout stops. Named pods need the member role, all of them admin. Answers at ' +
      'once; the pods service carries it out',
    access: { tenant: 'member' },
    params: z.object({ tenant: TenantId }),
    body: StartTenantRolloutBody,
    status: 201,
    response: RolloutView,
  },
  startRollout: {
    method: 'POST',
    path: '/api/v1/rollouts',
    summary: 'Upgrade every running pod of every tenant to an image, as a rolling upgrade',
    access: 'platformAdmin',
    body: StartPlatformRolloutBody,
    status: 201,
    response: RolloutView,
  },
  listRollouts: {
    method: 'GET',
    path: '/api/v1/rollouts',
    summary: 'Rollouts, newest first: those of the tenants the caller can see (every one for a platform admin)',
    access: 'signedIn',
    query: z.object({ tenant: TenantId.optional(), status: RolloutStatus.optional() }).strict(),
    response: z.object({ rollouts: z.array(RolloutView) }),
  },
  getRollout: {
    method: 'GET',
    path: '/api/v1/rollouts/:rollout',
    summary: "One rollout and each pod's progress (viewers of its tenant; platform admins for one across tenants)",
    access: 'signedIn',
    params: rolloutParams,
    response: RolloutView,
  },
  cancelRollout: {
    method: 'POST',
    path: '/api/v1/rollouts/:rollout/cancel',
    summary: 'Stop a running rollout where it is (members of its tenant; platform admins for one across tenants)',
    access: 'signedIn',
    params: rolloutParams,
    response: RolloutView,
  },
} satisfies Record<string, ApiRoute>;
