import {
  AppError,
  CREDENTIAL_PREFIX,
  IdentityQueries,
  type IdentityResult,
  type Principal,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { checkApiToken } from '../api-token/decide.ts';
import { parseApiToken, sessionAggregateId } from '../credentials.ts';
import { asUser, execute, type IdentityDeps } from '../deps.ts';
import { checkSession, decideSession } from '../session/decide.ts';
import { SESSION_RENEW_EVERY_MS, SESSION_TTL_MS } from '../settings.ts';
import { findUser } from '../user/registration.ts';
import { sessionPrincipal, tokenPrincipal } from './principal.ts';

/**
 * `identity.qry.authenticate`: a session token or an API token → its principal. Strongly consistent: it reads
 * the session or token aggregate and the user aggregate from the log, so a sign-out, a revocation or a
 * disabled user takes effect on the very next request, on every replica.
 */
export function registerAuthenticateHandler(deps: IdentityDeps): void {
  deps.runtime.serve(
    querySubject('identity', 'authenticate'),
    handler(IdentityQueries.authenticate, async (input, meta): Promise<IdentityResult<'authenticate'>> => {
      if (input.credential.startsWith(CREDENTIAL_PREFIX.session)) {
        return authenticateSession(deps, input.credential, meta);
      }
      const apiToken = parseApiToken(input.credential);
      if (apiToken) return authenticateToken(deps, apiToken);
      throw new AppError('unauthenticated', 'the credential is neither a session nor an API token');
    }),
  );
}

async function authenticateSession(deps: IdentityDeps, credential: string, meta: RequestMeta): Promise<Principal> {
  const aggregateId = sessionAggregateId(credential);
  const { state } = await deps.repos.sessions.load(aggregateId);
  const user = state.status === 'none' ? undefined : await findUser(deps, state.userId);
  const now = deps.runtime.clock();
  const valid = checkSession(state, user, now);
  if (valid instanceof AppError) throw valid;
  if (now.getTime() - Date.parse(valid.session.renewedAt) >= SESSION_RENEW_EVERY_MS) {
    // Sliding expiry. A failed renewal does not fail the request: the session is valid either way.
    await execute(deps, deps.repos.sessions, aggregateId, asUser(meta, valid.user.userId), (current, at) =>
      decideSession({ type: 'RenewSession', ttlMs: SESSION_TTL_MS, renewEveryMs: SESSION_RENEW_EVERY_MS }, current, at),
    ).catch((error: unknown) =>
      deps.runtime.logger.warn(
        { sessionId: valid.session.sessionId, code: (error as AppError).code },
        'could not renew a session',
      ),
    );
  }
  return sessionPrincipal(valid.user, valid.session);
}

async function authenticateToken(
  deps: IdentityDeps,
  credential: { tokenId: string; secretHash: string },
): Promise<Principal> {
  const { state } = await deps.repos.tokens.load(credential.tokenId);
  const user = state.status === 'none' ? undefined : await findUser(deps, state.userId);
  const valid = checkApiToken(state, credential.secretHash, user, deps.runtime.clock());
  if (valid instanceof AppError) throw valid;
  return tokenPrincipal(valid.user, valid.token);
}
