import type { ApiTokenView, RequestMeta, TokenRole } from '@agentpod/contracts';
import { newApiToken } from '../credentials.ts';
import { execute, type IdentityDeps, settle } from '../deps.ts';
import type { User } from '../user/events.ts';
import { decideToken } from './decide.ts';
import { toTokenView } from './events.ts';

export type TokenSpec = {
  name: string;
  role: TokenRole;
  tenantId: string | undefined;
  expiresInMs: number | undefined;
  notAfter: string | undefined;
};

/** Creates an API token for the user; the secret is returned once and only its hash is stored. */
export async function createToken(
  deps: IdentityDeps,
  user: User,
  spec: TokenSpec,
  meta: RequestMeta,
): Promise<{ token: string; view: ApiTokenView }> {
  const { tokenId, token, secretHash } = newApiToken();
  const outcome = await execute(deps, deps.repos.tokens, tokenId, meta, (state, now) =>
    decideToken(
      { type: 'CreateApiToken', tokenId, userId: user.userId, ...spec, secretHash, epoch: user.tokenEpoch },
      state,
      now,
    ),
  );
  if (outcome.state.status === 'none') throw new Error('a new token was not created');
  await settle(deps, outcome);
  return { token, view: toTokenView(outcome.state) };
}
