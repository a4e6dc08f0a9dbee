import type { RequestMeta } from '@agentpod/contracts';
import type { CommandOutcome } from '@agentpod/kit';
import { linkAggregateId, newLinkToken } from '../credentials.ts';
import { execute, type IdentityDeps } from '../deps.ts';
import { LINK_TTL_MS } from '../settings.ts';
import type { User } from '../user/events.ts';
import { decideLink } from './decide.ts';
import type { LinkState } from './events.ts';

/**
 * The sign-in URL: built from AGENTPOD_PUBLIC_URL only, never from a request. The token rides in the fragment,
 * so it never reaches a server log or a Referer header.
 */
export const signInUrl = (publicUrl: string, token: string): string =>
  `${publicUrl.replace(/\/+$/, '')}/auth/callback#token=${token}`;

/**
 * Issues a new sign-in link for the user: appends MagicLinkIssued (only the token's hash is stored) and returns
 * the link's URL with the command's outcome. It does not wait for the read models: a caller that needs its
 * next query to see the link settles the outcome itself.
 */
export async function issueLink(
  deps: IdentityDeps,
  user: User,
  meta: RequestMeta,
): Promise<{ link: string; outcome: CommandOutcome<LinkState> }> {
  const token = newLinkToken();
  const outcome = await execute(deps, deps.repos.links, linkAggregateId(token), meta, (state, now) =>
    decideLink({ type: 'IssueMagicLink', userId: user.userId, email: user.email, ttlMs: LINK_TTL_MS }, state, now),
  );
  return { link: signInUrl(deps.runtime.config.AGENTPOD_PUBLIC_URL, token), outcome };
}

export const signInMail = (to: string, link: string) => ({
  to,
  subject: 'Your AgentPod sign-in link',
  text: [
    'Open this link to sign in to AgentPod:',
    '',
    link,
    '',
    `It works once and expires in ${LINK_TTL_MS / 60_000} minutes. If you did not ask for it, ignore this email.`,
  ].join('\n'),
});
