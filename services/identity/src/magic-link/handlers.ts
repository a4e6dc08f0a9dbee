import {
  AppError,
  CREDENTIAL_PREFIX,
  commandSubject,
  IdentityCommands,
  type IdentityResult,
} from '@agentpod/contracts';
import { handler } from '@agentpod/kit';
import { linkAggregateId, newSessionId, newSessionToken, sessionAggregateId } from '../credentials.ts';
import { asUser, execute, type IdentityDeps, settle } from '../deps.ts';
import { decideSession } from '../session/decide.ts';
import { SESSION_TTL_MS } from '../settings.ts';
import { toUserView } from '../user/events.ts';
import { findUser, findUserByEmail } from '../user/registration.ts';
import { decideLink } from './decide.ts';
import { issueLink, signInMail } from './issue.ts';

const notValid = () => new AppError('unauthenticated', 'this sign-in link is not valid; ask for a new one');

export function registerMagicLinkHandlers(deps: IdentityDeps): void {
  const { runtime } = deps;

  runtime.serve(
    commandSubject('identity', 'requestMagicLink'),
    handler(IdentityCommands.requestMagicLink, async (input, meta): Promise<IdentityResult<'requestMagicLink'>> => {
      // Counted before the account is looked up, and for every address: the limit answers the same whether or
      // not the address has an account.
      const limited = await deps.signInRequests.admit(input.email, runtime.clock());
      if (limited) throw limited;
      const user = await findUserByEmail(deps, input.email);
      // Unknown and disabled addresses get the same empty answer and no email: asking creates no account.
      if (!user || user.disabled) return {};
      // Not settled: no query reads links, and waiting for the read models would make this reply slower (or a
      // `timeout` under lag) only for addresses that have an account.
      const { link } = await issueLink(deps, user, meta);
      // Local mode: the gateway prints the link once on its console. SMTP mode: it exists only in the email,
      // which goes out after the reply so that SMTP's pace says nothing about the address.
      if (deps.mailer.mode === 'local') return { localLink: link };
      deps.mail.send(signInMail(user.email, link), 'sign-in link');
      return {};
    }),
  );

  runtime.serve(
    commandSubject('identity', 'redeemMagicLink'),
    handler(IdentityCommands.redeemMagicLink, async (input, meta): Promise<IdentityResult<'redeemMagicLink'>> => {
      if (!input.token.startsWith(CREDENTIAL_PREFIX.magicLink)) throw notValid();
      const linkId = linkAggregateId(input.token);
      const link = await deps.repos.links.load(linkId);
      if (link.state.status === 'none') throw notValid();
      const user = await findUser(deps, link.state.userId);
      if (!user) throw notValid();
      if (user.disabled) throw new AppError('unauthenticated', 'this account is disabled');
      const userMeta = asUser(meta, user.userId);
      // A new random session token at every redemption: a session is never carried over from an earlier one.
      const sessionToken = newSessionToken();
      const sessionId = newSessionId();
      const redeemed = await execute(deps, deps.repos.links, linkId, userMeta, (state, now) =>
        decideLink({ type: 'RedeemMagicLink', sessionId }, state, now),
      );
      const started = await execute(
        deps,
        deps.repos.sessions,
        sessionAggregateId(sessionToken),
        userMeta,
        (state, now) =>
          decideSession(
            { type: 'StartSession', sessionId, userId: user.userId, epoch: user.sessionEpoch, ttlMs: SESSION_TTL_MS },
            state,
            now,
          ),
      );
      if (started.state.status !== 'active') throw new Error('a new session did not start');
      await settle(deps, redeemed, started);
      return { sessionToken, sessionId, expiresAt: started.state.expiresAt, user: toUserView(user) };
    }),
  );
}
