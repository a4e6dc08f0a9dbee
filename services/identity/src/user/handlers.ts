import {
  AppError,
  commandSubject,
  hasPlatformAdmin,
  IdentityCommands,
  IdentityQueries,
  type IdentityResult,
  querySubject,
  type RequestMeta,
} from '@agentpod/contracts';
import { assertPlatformAdmin, handler } from '@agentpod/kit';
import { assertMayChange } from '../api-token/policy.ts';
import { execute, type IdentityDeps, requirePrincipal, settle } from '../deps.ts';
import { decideUser } from './decide.ts';
import { toUserView, type User, type UserState } from './events.ts';
import { listUsers } from './read-model/queries.ts';
import { ensureUser, findUser, findUserByEmail } from './registration.ts';

const isSystem = (meta: RequestMeta): boolean => meta.actor.kind === 'system' && meta.principal === undefined;

function registered(state: UserState): User {
  if (!state.registered) throw new AppError('not_found', 'no such user');
  return state;
}

export function registerUserHandlers(deps: IdentityDeps): void {
  const { runtime } = deps;

  runtime.serve(
    commandSubject('identity', 'signOutEverywhere'),
    handler(IdentityCommands.signOutEverywhere, async (input, meta): Promise<IdentityResult<'signOutEverywhere'>> => {
      const principal = requirePrincipal(meta);
      assertMayChange(principal);
      if (input.userId !== principal.userId && !hasPlatformAdmin(principal)) {
        throw new AppError('forbidden', 'only a platform admin may sign someone else out');
      }
      const outcome = await execute(deps, deps.repos.users, input.userId, meta, (state) =>
        decideUser({ type: 'RevokeSessions' }, state),
      );
      await settle(deps, outcome);
      return {};
    }),
  );

  runtime.serve(
    commandSubject('identity', 'setUserDisabled'),
    handler(IdentityCommands.setUserDisabled, async (input, meta): Promise<IdentityResult<'setUserDisabled'>> => {
      assertPlatformAdmin(meta);
      const outcome = await execute(deps, deps.repos.users, input.userId, meta, (state) =>
        decideUser({ type: 'SetUserDisabled', disabled: input.disabled, by: meta.principal?.userId }, state),
      );
      await settle(deps, outcome);
      return toUserView(registered(outcome.state));
    }),
  );

  // Called by the tenants service when it invites someone, so the invitee can then ask for a sign-in link.
  runtime.serve(
    commandSubject('identity', 'ensureUser'),
    handler(IdentityCommands.ensureUser, async (input, meta): Promise<IdentityResult<'ensureUser'>> => {
      if (!isSystem(meta)) assertMayChange(requirePrincipal(meta));
      return toUserView(await ensureUser(deps, input.email, meta));
    }),
  );

  runtime.serve(
    querySubject('identity', 'getUser'),
    handler(IdentityQueries.getUser, async (input, meta): Promise<IdentityResult<'getUser'>> => {
      if (input.userId === undefined && input.email === undefined) {
        throw new AppError('invalid', 'give a userId or an email');
      }
      const user =
        input.userId !== undefined
          ? await findUser(deps, input.userId)
          : await findUserByEmail(deps, input.email ?? '');
      const mayRead =
        isSystem(meta) || meta.principal?.platformAdmin === true || meta.principal?.userId === user?.userId;
      // Someone the caller may not see answers like someone who does not exist.
      if (!user || !mayRead || (input.email !== undefined && input.email !== user.email)) {
        throw new AppError('not_found', 'no such user');
      }
      return toUserView(user);
    }),
  );

  runtime.serve(
    querySubject('identity', 'listUsers'),
    handler(IdentityQueries.listUsers, async (_input, meta): Promise<IdentityResult<'listUsers'>> => {
      assertPlatformAdmin(meta);
      return { users: await listUsers(runtime.db) };
    }),
  );
}
