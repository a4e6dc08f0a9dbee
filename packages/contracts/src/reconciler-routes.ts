import { z } from 'zod';
import type { ApiRoute } from './api.ts';
import { ErrorBody } from './errors.ts';
import { PlannedAction, PlanWait, ReconcilePlan } from './pod-lifecycle.ts';
import { TenantId } from './tenants.ts';

/*
 * Operating the platform: what the reconciler would do and doing it now (`agentpod reconcile`), how its replicas
 * share the work (`reconciler.qry.stats`), and the doctor's checks of every part (`agentpod doctor`). The NATS
 * inputs and answers, and their REST routes (spread into `routes` in api.ts). Platform admins (and the system) only:
 * each names every tenant's pods and nodes.
 */

export const ReconcilerQueries = {
  /** The plan a pass would make now, without acting; one tenant's pods, or all. */
  plan: z.object({ tenantId: TenantId.optional() }).strict(),
  /** Every live replica: the shards it holds and how its passes go. */
  stats: z.object({}).strict(),
};

export const ReconcilerCommands = {
  /** Every replica runs a pass now; answers the actions those passes started and how they ended. */
  reconcile: z.object({ tenantId: TenantId.optional() }).strict(),
};

/** `reconciler.qry.plan`: the plan, when it was made and the nodes it took as online. */
export const ReconcilePlanResult = ReconcilePlan.extend({
  at: z.string(),
  onlineNodes: z.array(z.string()),
});
export type ReconcilePlanResult = z.infer<typeof ReconcilePlanResult>;

/** How an action a requested pass started ended (or that it had not ended when the answer was due). */
export const ReconcileActionOutcome = z.discriminatedUnion('result', [
  z.object({ result: z.literal('succeeded'), containerId: z.string().nullable() }),
  z.object({ result: z.literal('failed'), error: ErrorBody }),
  /** Not the pod's failure: the node's agent was not connected; the action is planned again when it is. */
  z.object({ result: z.literal('postponed'), reason: z.string() }),
  /** Still running when the answer was due; its outcome will be a RECONCILER event like any other. */
  z.object({ result: z.literal('pending') }),
]);
export type ReconcileActionOutcome = z.infer<typeof ReconcileActionOutcome>;

/** One replica's part of a requested pass. */
export const ReplicaPass = z.object({
  instanceId: z.string(),
  /** The shards it acted on. */
  shards: z.array(z.number().int().nonnegative()),
  durationMs: z.number().nonnegative(),
  /** Why no pass ran (read models lagging behind their streams), or null. */
  skipped: z.string().nullable(),
});

/** `reconciler.cmd.reconcile`: what the requested passes did. */
export const ReconcileResult = z.object({
  at: z.string(),
  replicas: z.array(ReplicaPass),
  actions: z.array(z.object({ action: PlannedAction, instanceId: z.string(), outcome: ReconcileActionOutcome })),
  /** Pods left alone for now (backing off, node unreachable), as the passes saw them. */
  waits: z.array(PlanWait),
});
export type ReconcileResult = z.infer<typeof ReconcileResult>;

/** One replica as it last announced itself. */
export const ReplicaStats = z.object({
  instanceId: z.string(),
  shards: z.array(z.number().int().nonnegative()),
  /** Shards with actions of this replica in flight. */
  busy: z.array(z.number().int().nonnegative()),
  passes: z.number().int().nonnegative(),
  /** Duration of the last pass (load, plan, start actions), in ms; null before the first. */
  lastPassMs: z.number().nonnegative().nullable(),
  lastPassAt: z.string().nullable(),
  /** Pods (and orphans' keys) the last pass planned. */
  podsPlanned: z.number().int().nonnegative(),
  /** Actions the last pass started. */
  actionsStarted: z.number().int().nonnegative(),
  actionsInFlight: z.number().int().nonnegative(),
  startedAt: z.string(),
  /** When this view of it was taken (its announcement's arrival, or now for the replica answering). */
  reportedAt: z.string(),
});
export type ReplicaStats = z.infer<typeof ReplicaStats>;

/** `reconciler.qry.stats`. */
export const ReconcilerStats = z.object({
  at: z.string(),
  /** N (AGENTPOD_RECONCILE_SHARDS). */
  shardCount: z.number().int().positive(),
  replicas: z.array(ReplicaStats),
  /** Shards no live replica holds: their pods are not reconciled until one takes them (within a second or so). */
  unheld: z.array(z.number().int().nonnegative()),
});
export type ReconcilerStats = z.infer<typeof ReconcilerStats>;

export const CheckStatus = z.enum(['ok', 'warn', 'fail']);
export type CheckStatus = z.infer<typeof CheckStatus>;

/** One thing the doctor looked at. */
export const DoctorCheck = z.object({
  /** Stable, for scripts: `nats`, `service.pods`, `node.<name>`… */
  id: z.string(),
  area: z.enum(['gateway', 'nats', 'postgres', 'service', 'reconciler', 'node', 'docker']),
  status: CheckStatus,
  /** What was found, in one line. */
  detail: z.string(),
  /** What to do about it; null when nothing needs doing. */
  hint: z.string().nullable(),
});
export type DoctorCheck = z.infer<typeof DoctorCheck>;

export const DoctorReport = z.object({
  at: z.string(),
  /** The worst of the checks. */
  status: CheckStatus,
  checks: z.array(DoctorCheck),
});
export type DoctorReport = z.infer<typeof DoctorReport>;

/** The worst status of several: fail over warn over ok. */
export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'ok';
  for (const status of statuses) {
    if (status === 'fail') return 'fail';
    if (status === 'warn') worst = 'warn';
  }
  return worst;
}

export const reconcilerRoutes = {
  reconcilePlan: {
    method: 'GET',
    path: '/api/v1/reconciler/plan',
    summary: 'What a reconcile pass would do now (actions, and pods left waiting), without doing it',
    access: 'platformAdmin',
    query: z.object({ tenant: TenantId.optional() }).strict(),
    response: ReconcilePlanResult,
  },
  reconcile: {
    method: 'POST',
    path: '/api/v1/reconciler/reconcile',
    summary:
      'Every reconciler replica runs a pass now; answers the actions started and their outcomes (those not ' +
      'finished within about 20 s as pending)',
    access: 'platformAdmin',
    body: z.object({ tenant: TenantId.optional() }).strict(),
    response: ReconcileResult,
  },
  doctor: {
    method: 'GET',
    path: '/api/v1/system/doctor',
    summary:
      "Checks NATS, PostgreSQL, every service, the reconciler's replicas and every node; each check says what to " +
      'do when it is not ok',
    access: 'platformAdmin',
    response: DoctorReport,
  },
} satisfies Record<string, ApiRoute>;
