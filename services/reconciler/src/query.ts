import { querySubject, TenantId } from '@agentpod/contracts';
import { assertPlatformAdmin, handler, type ServiceRuntime } from '@agentpod/kit';
import { z } from 'zod';
import type { ReconcilerDb } from './db.ts';
import type { ReconcilerEnv } from './env.ts';
import type { NodeLiveness } from './observed/liveness.ts';
import { PlannedAction } from './plan/model.ts';
import { plan } from './plan/plan.ts';
import { loadWorld } from './world.ts';

/*
 * `reconciler.qry.plan {tenantId?}`: what a pass would do now, without doing it (`agentpod reconcile --dry-run`).
 * Any instance answers, from the same read models and its own view of the heartbeats. Platform admins and the
 * system only: it names every tenant's pods and nodes. (Input and result move to contracts with their client.)
 */

export const PlanQuery = z.object({ tenantId: TenantId.optional() }).strict();
export const PlanResult = z.object({
  /** When the plan was made. */
  at: z.string(),
  onlineNodes: z.array(z.string()),
  actions: z.array(PlannedAction),
});
export type PlanResult = z.infer<typeof PlanResult>;

export function registerPlanQuery(runtime: ServiceRuntime<ReconcilerDb, ReconcilerEnv>, liveness: NodeLiveness): void {
  runtime.serve(
    querySubject('reconciler', 'plan'),
    handler(PlanQuery, async ({ tenantId }, meta): Promise<PlanResult> => {
      assertPlatformAdmin(meta);
      const world = await loadWorld(runtime.db, tenantId === undefined ? {} : { tenantId });
      const now = runtime.clock();
      const online = liveness.online(now);
      const actions = plan(world.desired, world.observed, online, now, world.history, {
        retryDelayMs: runtime.config.AGENTPOD_RECONCILE_INTERVAL_MS,
      });
      return { at: now.toISOString(), onlineNodes: [...online].sort(), actions };
    }),
  );
}
