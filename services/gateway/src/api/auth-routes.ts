import {
  AppError,
  BOOTSTRAP_HEADER,
  commandSubject,
  effectiveRole,
  IdentityResults,
  MembershipsResult,
  querySubject,
  RedeemMagicLinkResult,
} from '@agentpod/contracts';
import { clearSessionCookies, readCredential, sameSecret, setSessionCookies } from '../auth/cookies.ts';
import { principalOf, type RouteHandlers } from './context.ts';

/** Sessions slide over 30 days of inactivity (identity); cookies are renewed for as long at each whoami. */
const SESSION_COOKIE_MS = 30 * 86_400_000;

type AuthHandlers = Pick<
  RouteHandlers,
  'requestMagicLink' | 'redeemMagicLink' | 'signOut' | 'signOutEverywhere' | 'whoami' | 'bootstrap'
>;

export const authHandlers: AuthHandlers = {
  async requestMagicLink({ body, call, deps }) {
    const reply = IdentityResults.requestMagicLink.parse(
      await call(commandSubject('identity', 'requestMagicLink'), body),
    );
    // The link goes to the operator's console, never into the response: whoever asked may not own the address.
    if (reply.localLink) deps.options.announce({ kind: 'sign-in', email: body.email, link: reply.localLink });
    return {};
  },

  async redeemMagicLink({ body, call, request, reply, deps }) {
    const redeemed = RedeemMagicLinkResult.parse(await call(commandSubject('identity', 'redeemMagicLink'), body));
    // Rotation: a session this browser held before ends now, so only the new one is ever valid here.
    const previous = readCredential(request, deps.https);
    if (typeof previous === 'object' && previous.kind === 'cookie') {
      await call(commandSubject('identity', 'signOut'), { sessionToken: previous.value }).catch((error: unknown) =>
        request.log.warn({ err: error }, 'could not end the previous session at sign-in'),
      );
    }
    setSessionCookies(reply, deps.https, redeemed.sessionToken, new Date(redeemed.expiresAt));
    return { user: redeemed.user, expiresAt: redeemed.expiresAt };
  },

  async signOut(context) {
    const { credential, call, reply, deps } = context;
    if (credential?.kind !== 'cookie') {
      throw new AppError(
        'invalid',
        'an API token has no session to end; revoke it with DELETE /api/v1/tokens/:tokenId',
      );
    }
    await call(commandSubject('identity', 'signOut'), { sessionToken: credential.value });
    clearSessionCookies(reply, deps.https);
  },

  async signOutEverywhere(context) {
    const principal = principalOf(context);
    await context.call(commandSubject('identity', 'signOutEverywhere'), { userId: principal.userId });
    clearSessionCookies(context.reply, context.deps.https);
  },

  async whoami(context) {
    const principal = principalOf(context);
    const answer = MembershipsResult.parse(
      await context.call(querySubject('tenants', 'memberships'), { userId: principal.userId }),
    );
    // The roles this credential can use: a token is capped by its role and confined to its tenant.
    const memberships = answer.memberships.flatMap(({ tenantId, role }) => {
      const effective = effectiveRole(principal, tenantId, role);
      return effective ? [{ tenantId, role: effective }] : [];
    });
    // The console asks this at every load: keep the browser's cookies as long-lived as identity's sliding session
    // (identity decides validity; a cookie outliving its session is merely refused).
    if (context.credential?.kind === 'cookie') {
      const expires = new Date(context.deps.options.clock().getTime() + SESSION_COOKIE_MS);
      setSessionCookies(context.reply, context.deps.https, context.credential.value, expires);
    }
    return { principal, memberships };
  },

  async bootstrap({ body, call, request, deps }) {
    const secret = deps.options.bootstrapSecret;
    const sent = request.headers[BOOTSTRAP_HEADER];
    if (secret === undefined) {
      throw new AppError('unavailable', 'this gateway was started without a bootstrap secret');
    }
    if (typeof sent !== 'string' || !sameSecret(sent, secret)) {
      throw new AppError(
        'unauthenticated',
        `missing or wrong ${BOOTSTRAP_HEADER} header: run \`agentpod admin bootstrap\` on the control-plane host`,
      );
    }
    return call(commandSubject('identity', 'bootstrapAdmin'), body);
  },
};
