import type { Principal } from '@agentpod/contracts';
import type { ApiToken } from '../api-token/events.ts';
import type { ActiveSession } from '../session/events.ts';
import type { User } from '../user/events.ts';

/** The principal of a valid session: the user's full rights. */
export const sessionPrincipal = (user: User, session: ActiveSession): Principal => ({
  userId: user.userId,
  email: user.email,
  platformAdmin: user.platformAdmin,
  via: 'session',
  sessionId: session.sessionId,
});

/** The principal of a valid API token: the user's rights, capped at the token's role and tenant. */
export const tokenPrincipal = (user: User, token: ApiToken): Principal => ({
  userId: user.userId,
  email: user.email,
  platformAdmin: user.platformAdmin,
  via: 'token',
  tokenId: token.tokenId,
  tokenRole: token.role,
  ...(token.tenantId === undefined ? {} : { tokenTenantId: token.tenantId }),
});
