import { commandSubject, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

type RolloutHandlers = Pick<
  RouteHandlers,
  'startTenantRollout' | 'startRollout' | 'listRollouts' | 'getRollout' | 'cancelRollout'
>;

/*
 * Rolling upgrades are carried out by the pods service, which also decides who may start, see and cancel each one
 * (named pods: members; all of a tenant: admins; all of every tenant: platform admins). Starting one answers once it
 * is recorded; its progress is read with getRollout.
 */

/** Choosing the pods and recording the rollout reads every pod of the scope: more than a plain query. */
const CHANGE = { timeoutMs: 15_000 };

export const rolloutHandlers: RolloutHandlers = {
  startTenantRollout: ({ params, body, call }) =>
    call(commandSubject('pods', 'startRollout'), { ...body, tenantId: params.tenant }, CHANGE),

  startRollout: ({ body, call }) => call(commandSubject('pods', 'startRollout'), body, CHANGE),

  listRollouts: ({ query, call }) =>
    call(querySubject('pods', 'listRollouts'), {
      ...(query.tenant ? { tenantId: query.tenant } : {}),
      ...(query.status ? { status: query.status } : {}),
    }),

  getRollout: ({ params, call }) => call(querySubject('pods', 'getRollout'), { rolloutId: params.rollout }),

  cancelRollout: ({ params, call }) =>
    call(commandSubject('pods', 'cancelRollout'), { rolloutId: params.rollout }, CHANGE),
};
