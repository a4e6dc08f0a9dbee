import {
  AppError,
  commandSubject,
  durationMs,
  hasPlatformAdmin,
  IdentityCommands,
  IdentityQueries,
  type IdentityResult,
  querySubject,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { execute, type IdentityDeps, requirePrincipal, settle } from '../deps.ts';
import { freshMembership } from '../membership/queries.ts';
import { findUser } from '../user/registration.ts';
import { decideToken } from './decide.ts';
import { toTokenView } from './events.ts';
import { createToken } from './issue.ts';
import { assertMayChange, tokenGrantError } from './policy.ts';
import { listTokens } from './read-model/queries.ts';

export function registerApiTokenHandlers(deps: IdentityDeps): void {
  const { runtime } = deps;

  runtime.serve(
    commandSubject('identity', 'createApiToken'),
    handler(IdentityCommands.createApiToken, async (input, meta): Promise<IdentityResult<'createApiToken'>> => {
      const principal = requirePrincipal(meta);
      assertMayChange(principal);
      const creator = await findUser(deps, principal.userId);
      if (!creator || creator.disabled) throw new AppError('unauthenticated', 'this account is not active');
      const membership =
        input.tenantId === undefined
          ? { tenantExists: false, role: undefined }
          : await freshMembership(runtime, input.tenantId, principal.userId);
      const refused = tokenGrantError(principal, input, membership.role, membership.tenantExists);
      if (refused) throw refused;
      // A token made with a token never outlives it.
      let notAfter: string | undefined;
      if (principal.via === 'token' && principal.tokenId !== undefined) {
        const { state } = await deps.repos.tokens.load(principal.tokenId);
        notAfter = state.status === 'none' ? undefined : state.expiresAt;
      }
      const spec = {
        name: input.name,
        role: input.role,
        tenantId: input.tenantId,
        expiresInMs: input.expiresIn === undefined ? undefined : durationMs(input.expiresIn),
        notAfter,
      };
      return createToken(deps, creator, spec, meta);
    }),
  );

  runtime.serve(
    commandSubject('identity', 'revokeApiToken'),
    handler(IdentityCommands.revokeApiToken, async (input, meta): Promise<IdentityResult<'revokeApiToken'>> => {
      const principal = requirePrincipal(meta);
      assertMayChange(principal);
      const { state } = await deps.repos.tokens.load(input.tokenId);
      // Someone else's token answers like a token that does not exist.
      if (state.status === 'none' || (state.userId !== principal.userId && !hasPlatformAdmin(principal))) {
        throw new AppError('not_found', 'no such token');
      }
      const outcome = await execute(deps, deps.repos.tokens, input.tokenId, meta, (current, now) =>
        decideToken({ type: 'RevokeApiToken' }, current, now),
      );
      if (outcome.state.status === 'none') throw new AppError('not_found', 'no such token');
      await settle(deps, outcome);
      return toTokenView(outcome.state);
    }),
  );

  runtime.serve(
    querySubject('identity', 'listApiTokens'),
    handler(IdentityQueries.listApiTokens, async (input, meta): Promise<IdentityResult<'listApiTokens'>> => {
      const principal = requirePrincipal(meta);
      if (hasPlatformAdmin(principal)) return { tokens: await listTokens(runtime.db, input.userId) };
      if (input.userId !== undefined && input.userId !== principal.userId) {
        throw new AppError('forbidden', "only a platform admin may list someone else's tokens");
      }
      return { tokens: await listTokens(runtime.db, principal.userId) };
    }),
  );
}
