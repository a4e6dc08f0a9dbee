import {
  commandSubject,
  querySubject,
  type ReconcilePlanResult,
  type ReconcileResult,
  ReconcilerCommands,
  ReconcilerQueries,
} from '@agentpod/contracts';
import { assertPlatformAdmin, createLogger, handler, serveRequests } from '@agentpod/kit';
import type { Matrix } from './fixtures.ts';

/*
 * The matrix runs no reconciler: a stand-in answers its plan query and its pass command, with the reconciler's own
 * rule (platform admins and the system), so a caller the gateway lets through gets the route's success. The doctor
 * needs no stand-in: it reports the services that do not answer.
 */

let started: Matrix | undefined;

export function reconcilerStandIn(m: Matrix): void {
  if (started === m) return;
  started = m;
  const logger = createLogger('matrix-reconciler', 'silent');
  const at = () => new Date().toISOString();
  serveRequests({
    nc: m.world.nc,
    subject: querySubject('reconciler', 'plan'),
    queue: 'reconciler',
    logger,
    handler: handler(ReconcilerQueries.plan, async (_input, meta): Promise<ReconcilePlanResult> => {
      assertPlatformAdmin(meta);
      return { at: at(), onlineNodes: [], actions: [], waits: [] };
    }),
  });
  serveRequests({
    nc: m.world.nc,
    subject: commandSubject('reconciler', 'reconcile'),
    queue: 'reconciler',
    logger,
    handler: handler(ReconcilerCommands.reconcile, async (_input, meta): Promise<ReconcileResult> => {
      assertPlatformAdmin(meta);
      return { at: at(), replicas: [], actions: [], waits: [] };
    }),
  });
}
