import { commandSubject, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

/*
 * The reconciler's operations: its plan (a dry run) and a pass now. The reconciler checks again that the caller
 * is a platform admin (the route rule already did).
 */

/**
 * A pass now waits for the actions it started (about 20 s at most on the reconciler's side), so its answer may take
 * longer than an ordinary request.
 */
const PASS = { timeoutMs: 30_000 };

export const reconcilerHandlers: Pick<RouteHandlers, 'reconcilePlan' | 'reconcile'> = {
  reconcilePlan: ({ query, call }) =>
    call(querySubject('reconciler', 'plan'), query.tenant ? { tenantId: query.tenant } : {}),

  reconcile: ({ body, call }) =>
    call(commandSubject('reconciler', 'reconcile'), body.tenant ? { tenantId: body.tenant } : {}, PASS),
};
