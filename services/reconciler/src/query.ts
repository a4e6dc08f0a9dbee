import {
  commandSubject,
  querySubject,
  type ReconcilePlanResult,
  type ReconcileResult,
  ReconcilerCommands,
  ReconcilerQueries,
  type ReconcilerStats,
} from '@agentpod/contracts';
import { assertPlatformAdmin, handler, type ServiceRuntime } from '@agentpod/kit';
import type { ReconcilerDb } from './db.ts';
import type { ReconcilerEnv } from './env.ts';
import { requestPasses } from './loop/pass-requests.ts';
import { planWorld, policyOf } from './loop/plan-pass.ts';
import type { ReconcileLoop } from './loop/reconcile-loop.ts';
import type { NodeLiveness } from './observed/liveness.ts';
import { loadWorld } from './world.ts';

/*
 * What the reconciler answers (platform admins and the system only: each names every tenant's pods and nodes):
 * - `reconciler.qry.plan {tenantId?}`: what a pass would do now, over every shard, without doing it
 *   (`agentpod reconcile --dry-run`). Any instance answers, from the same read models and its own view of the
 *   heartbeats.
 * - `reconciler.qry.stats`: every live replica, its shards and its passes (this one fresh, the others as they last
 *   announced themselves, at most a second ago).
 * - `reconciler.cmd.reconcile {tenantId?}`: every replica runs a pass now; the answer lists the actions started and
 *   how they ended (`agentpod reconcile --once`).
 */

/** The answer of `reconciler.qry.plan` (its schema is the contracts' ReconcilePlanResult). */
export type PlanResult = ReconcilePlanResult;

/** How long a requested pass waits for the outcomes of its actions (the gateway waits 30 s for the whole answer). */
const OUTCOME_WAIT_MS = 20_000;

export function registerQueries(
  runtime: ServiceRuntime<ReconcilerDb, ReconcilerEnv>,
  parts: { liveness: NodeLiveness; loop: ReconcileLoop },
): void {
  const { liveness, loop } = parts;
  const policy = policyOf(runtime.config);

  runtime.serve(
    querySubject('reconciler', 'plan'),
    handler(ReconcilerQueries.plan, async ({ tenantId }, meta): Promise<ReconcilePlanResult> => {
      assertPlatformAdmin(meta);
      const world = await loadWorld(runtime.db, tenantId === undefined ? {} : { tenantId });
      const now = runtime.clock();
      const online = liveness.online(now);
      const { actions, waits } = planWorld(world, online, now, policy);
      return { at: now.toISOString(), onlineNodes: [...online].sort(), actions, waits };
    }),
  );

  runtime.serve(
    querySubject('reconciler', 'stats'),
    handler(ReconcilerQueries.stats, async (_input, meta): Promise<ReconcilerStats> => {
      assertPlatformAdmin(meta);
      return loop.stats();
    }),
  );

  runtime.serve(
    commandSubject('reconciler', 'reconcile'),
    handler(ReconcilerCommands.reconcile, async ({ tenantId }, meta): Promise<ReconcileResult> => {
      assertPlatformAdmin(meta);
      return requestPasses(runtime.nc, {
        ...(tenantId ? { tenantId } : {}),
        // Replicas heard within one and a half announcement periods are up and will answer.
        expected: loop.keeper.freshCount(1_500),
        waitMs: OUTCOME_WAIT_MS,
        now: runtime.clock,
        logger: runtime.logger,
      });
    }),
  );
}
