import { CREDENTIAL_PREFIX, commandSubject, IdentityCommands, type IdentityResult } from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { sessionAggregateId } from '../credentials.ts';
import { execute, type IdentityDeps, settle } from '../deps.ts';
import { decideSession } from './decide.ts';

export function registerSessionHandlers(deps: IdentityDeps): void {
  // The session token is its own authority: whoever holds it may end it. Unknown or ended: nothing to do.
  deps.runtime.serve(
    commandSubject('identity', 'signOut'),
    handler(IdentityCommands.signOut, async (input, meta): Promise<IdentityResult<'signOut'>> => {
      if (!input.sessionToken.startsWith(CREDENTIAL_PREFIX.session)) return {};
      const outcome = await execute(
        deps,
        deps.repos.sessions,
        sessionAggregateId(input.sessionToken),
        meta,
        (state, now) => decideSession({ type: 'EndSession' }, state, now),
      );
      await settle(deps, outcome);
      return {};
    }),
  );
}
