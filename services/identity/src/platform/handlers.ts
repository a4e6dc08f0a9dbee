import { AppError, commandSubject, IdentityCommands, type IdentityResult } from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { createToken } from '../api-token/issue.ts';
import { PLATFORM_AGGREGATE_ID } from '../credentials.ts';
import { execute, type IdentityDeps, settle } from '../deps.ts';
import { issueLink } from '../magic-link/issue.ts';
import { decideUser } from '../user/decide.ts';
import { toUserView } from '../user/events.ts';
import { ensureUser, findUser } from '../user/registration.ts';
import { decidePlatform } from './decide.ts';

const alreadyDone = () => new AppError('conflict', 'a platform admin already exists; bootstrap runs only once');

/**
 * The first platform admin. The gateway has checked the bootstrap secret from the control-plane host; this
 * makes sure it happens once, even when two bootstraps race (the `platform` singleton decides).
 */
export function registerPlatformHandlers(deps: IdentityDeps): void {
  deps.runtime.serve(
    commandSubject('identity', 'bootstrapAdmin'),
    handler(IdentityCommands.bootstrapAdmin, async (input, meta): Promise<IdentityResult<'bootstrapAdmin'>> => {
      // Refuse before registering anyone when the bootstrap has plainly happened already.
      const platform = await deps.repos.platform.load(PLATFORM_AGGREGATE_ID);
      if (platform.state.bootstrappedBy !== undefined) {
        const admin = await findUser(deps, platform.state.bootstrappedBy);
        if (!admin || admin.platformAdmin || admin.email !== input.email) throw alreadyDone();
      }
      const user = await ensureUser(deps, input.email, meta);
      const claimed = await execute(deps, deps.repos.platform, PLATFORM_AGGREGATE_ID, meta, (state) =>
        decidePlatform({ type: 'Bootstrap', userId: user.userId, userIsPlatformAdmin: user.platformAdmin }, state),
      );
      const granted = await execute(deps, deps.repos.users, user.userId, meta, (state) =>
        decideUser({ type: 'GrantPlatformAdmin' }, state),
      );
      if (!granted.state.registered) throw new Error('the bootstrapped user vanished');
      await settle(deps, claimed, granted);
      const admin = granted.state;
      const { link: signInLink, outcome: issued } = await issueLink(deps, admin, meta);
      await settle(deps, issued);
      const { token, view } = await createToken(
        deps,
        admin,
        { name: 'bootstrap', role: 'owner', tenantId: undefined, expiresInMs: undefined, notAfter: undefined },
        meta,
      );
      return { user: toUserView(admin), signInLink, token, tokenId: view.id };
    }),
  );
}
