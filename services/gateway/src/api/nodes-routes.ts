import { commandSubject, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

type NodeHandlers = Pick<
  RouteHandlers,
  'listNodes' | 'addNode' | 'addTenantNode' | 'getNode' | 'removeNode' | 'issueNodeJoinToken'
>;

const podsCmd = (name: string) => commandSubject('pods', name);
const podsQry = (name: string) => querySubject('pods', name);

/*
 * The pods service owns the node registry and decides from meta.principal which nodes the caller may see or
 * change (a tenant's owner: the tenant's own nodes); the gateway's rule for the routes without a tenant in the
 * path only requires a signed-in caller.
 */
export const nodeHandlers: NodeHandlers = {
  listNodes: ({ call }) => call(podsQry('listNodes'), {}),

  addNode: ({ body, call }) => call(podsCmd('addNode'), { name: body.name }),

  addTenantNode: ({ params, body, call }) => call(podsCmd('addNode'), { name: body.name, tenantId: params.tenant }),

  getNode: ({ params, call }) => call(podsQry('getNode'), { node: params.node }),

  removeNode: ({ params, call }) => call(podsCmd('removeNode'), { node: params.node }),

  issueNodeJoinToken: ({ params, call }) => call(podsCmd('issueJoinToken'), { node: params.node }),
};
