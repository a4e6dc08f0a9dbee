import type { RequestMeta } from '@agentpod/contracts';
import { emailAggregateId, newUserId } from '../credentials.ts';
import { execute, type IdentityDeps, settle } from '../deps.ts';
import { decideEmail } from '../email/decide.ts';
import { decideUser } from './decide.ts';
import type { User } from './events.ts';

/**
 * The registered user with this (normalised) address, or undefined. Strongly consistent: it reads the address
 * claim and the user from the log, not from a read model.
 */
export async function findUserByEmail(deps: IdentityDeps, email: string): Promise<User | undefined> {
  const claim = await deps.repos.emails.load(emailAggregateId(email));
  if (!claim.state.claimed) return undefined;
  return findUser(deps, claim.state.userId);
}

export async function findUser(deps: IdentityDeps, userId: string): Promise<User | undefined> {
  const { state } = await deps.repos.users.load(userId);
  return state.registered ? state : undefined;
}

/**
 * Finds or registers the user with this address. Race-free: the address is claimed first (one claim per
 * address wins), then the claimant is registered; registering is idempotent, so a registration interrupted
 * between the two steps is finished by the next call for the same address.
 */
export async function ensureUser(deps: IdentityDeps, email: string, meta: RequestMeta): Promise<User> {
  const candidate = newUserId();
  const claim = await execute(deps, deps.repos.emails, emailAggregateId(email), meta, (state) =>
    decideEmail({ type: 'ClaimEmail', userId: candidate, email }, state),
  );
  if (!claim.state.claimed) throw new Error('an address claim decided nothing on an unclaimed address');
  const userId = claim.state.userId;
  const registered = await execute(deps, deps.repos.users, userId, meta, (state) =>
    decideUser({ type: 'RegisterUser', userId, email }, state),
  );
  if (!registered.state.registered) throw new Error('a registration left its user unregistered');
  await settle(deps, claim, registered);
  return registered.state;
}
