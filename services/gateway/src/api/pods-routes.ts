import { commandSubject, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';
import { podLogs } from './pod-logs.ts';

type PodHandlers = Pick<
  RouteHandlers,
  | 'listPods'
  | 'listTenantPods'
  | 'createPod'
  | 'getPod'
  | 'updatePod'
  | 'deletePod'
  | 'stopPod'
  | 'startPod'
  | 'restartPod'
  | 'podToken'
  | 'podSecrets'
  | 'rotatePodToken'
  | 'podLogs'
>;

const podsCmd = (name: string) => commandSubject('pods', name);
const podsQry = (name: string) => querySubject('pods', name);

/*
 * A change waits for placement (optimistic retries on the node aggregate when creations race), encryption, the
 * append and the read model catching up; more than a plain query, so more than the default 5 s.
 */
const CHANGE = { timeoutMs: 15_000 };

const keyOf = (params: { tenant: string; pod: string }) => ({ tenantId: params.tenant, podId: params.pod });

export const podHandlers: PodHandlers = {
  // The pods service scopes the list to the caller's tenants (every pod for a platform admin).
  listPods: ({ query, call }) => call(podsQry('listPods'), query.tenant ? { tenantId: query.tenant } : {}),

  listTenantPods: ({ params, call }) => call(podsQry('listPods'), { tenantId: params.tenant }),

  createPod: ({ params, body, call }) => call(podsCmd('createPod'), { ...body, tenantId: params.tenant }, CHANGE),

  getPod: ({ params, call }) => call(podsQry('getPod'), keyOf(params)),

  updatePod: ({ params, body, call }) => call(podsCmd('updatePod'), { ...body, ...keyOf(params) }, CHANGE),

  deletePod: ({ params, query, call }) =>
    call(podsCmd('deletePod'), { ...keyOf(params), keepVolume: query.keepVolume === 'true' }, CHANGE),

  stopPod: ({ params, call }) => call(podsCmd('stopPod'), keyOf(params), CHANGE),

  startPod: ({ params, call }) => call(podsCmd('startPod'), keyOf(params), CHANGE),

  restartPod: ({ params, call }) => call(podsCmd('restartPod'), keyOf(params), CHANGE),

  podToken: ({ params, call }) => call(podsQry('podToken'), keyOf(params)),

  podSecrets: ({ params, call }) => call(podsQry('podSecrets'), keyOf(params)),

  rotatePodToken: ({ params, call }) => call(podsCmd('rotatePodToken'), keyOf(params), CHANGE),

  podLogs,
};
