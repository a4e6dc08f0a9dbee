import { commandSubject, querySubject } from '@agentpod/contracts';
import type { RouteHandlers } from './context.ts';

export const tokenHandlers: Pick<RouteHandlers, 'listTokens' | 'createToken' | 'revokeToken'> = {
  // identity decides from meta.principal whose tokens the caller sees (their own; every token for an admin).
  listTokens: ({ call }) => call(querySubject('identity', 'listApiTokens'), {}),

  createToken: ({ body, call }) =>
    call(commandSubject('identity', 'createApiToken'), {
      name: body.name,
      role: body.role,
      ...(body.tenant ? { tenantId: body.tenant } : {}),
      ...(body.expiresIn ? { expiresIn: body.expiresIn } : {}),
    }),

  revokeToken: ({ params, call }) => call(commandSubject('identity', 'revokeApiToken'), { tokenId: params.tokenId }),
};
