import { AppError, type ErrorCode } from '@agentpod/contracts';
import { defineCommand, usageError } from '../args.ts';
import type { ApiClient } from '../client.ts';
import { CookieJar } from '../cookies.ts';
import { loadCredential, removeCredential, type SavedCredential, sameOrigin, saveCredential } from '../credentials.ts';
import { DEFAULT_URL } from '../env.ts';
import { EXIT, formatFields, formatTable, yesNo } from '../output.ts';
import { ask } from '../prompt.ts';

/*
 * Signing the CLI in and out. The CLI only ever keeps an API token: a magic-link sign-in gives a session cookie,
 * which the CLI trades for a token named `cli-<hostname>` and then ends (interfaces §13).
 */

const isHttpUrl = (value: string) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

/** The token inside a pasted sign-in link (`…/auth/callback#token=apl_…`), or the pasted token itself. */
export function linkToken(pasted: string): string {
  const match = /[#?&]token=([^&#\s]+)/.exec(pasted);
  return decodeURIComponent(match?.[1] ?? pasted.trim());
}

/** Revokes a token the CLI created; a token that is already gone or refused counts as revoked. */
async function revokeOwnToken(client: ApiClient, tokenId: string): Promise<void> {
  try {
    await client.call('revokeToken', { params: { tokenId } });
  } catch (error) {
    const gone: ErrorCode[] = ['unauthenticated', 'not_found'];
    if (!(error instanceof AppError && gone.includes(error.code))) throw error;
  }
}

async function signInWithLink(
  client: ApiClient,
  email: string,
  options: { hostname: string; expires: string | undefined; ask: () => Promise<string> },
): Promise<{ token: string; tokenId: string }> {
  await client.call('requestMagicLink', { body: { email } }, { labels: { email: '--email' } });
  const token = linkToken(await options.ask());
  if (token === '') throw usageError('no sign-in link given');
  await client.call('redeemMagicLink', { body: { token } }, { labels: { token: 'sign-in link' } });
  // A GET hands out the CSRF cookie if the redemption did not; state-changing calls below must echo it.
  await client.call('whoami');
  try {
    const created = await client.call(
      'createToken',
      { body: { name: `cli-${options.hostname}`.slice(0, 64), role: 'owner', expiresIn: options.expires } },
      { labels: { expiresIn: '--expires' } },
    );
    return { token: created.token, tokenId: created.view.id };
  } finally {
    // The session was only a means to create the token; it must not outlive this command.
    await client.call('signOut').catch(() => undefined);
  }
}

export const loginCommand = defineCommand({
  path: ['login'],
  summary: 'Sign the CLI in with an API token or a sign-in link, and save the credential',
  options: {
    url: {
      type: 'string',
      value: 'U',
      description: `the gateway (default: AGENTPOD_URL, the saved one, ${DEFAULT_URL})`,
    },
    token: {
      type: 'string',
      value: 'T',
      description: 'an API token (else asked for; a pipe works: echo "$T" | agentpod login)',
    },
    email: { type: 'string', value: 'E', description: 'sign in by email: a link is sent, paste it back here' },
    expires: { type: 'string', value: '30d', description: 'with --email: lifetime of the token the CLI creates' },
  },
  details:
    'A token is checked with the gateway before it is saved. With --email the CLI creates an API token named\n' +
    'cli-<hostname> (at most your own rights) and ends the web session; logout revokes that token.\n' +
    'The credential is saved in $XDG_CONFIG_HOME/agentpod/credentials.json (default ~/.config; mode 0600).',
  async run(ctx, { options }) {
    if (options.token !== undefined && options.email !== undefined)
      throw usageError('give --token or --email, not both');
    if (options.expires !== undefined && options.email === undefined) throw usageError('--expires goes with --email');
    const previous = await loadCredential(ctx.env.credentialsFile);
    const url = (options.url ?? ctx.env.url ?? previous?.url ?? DEFAULT_URL).replace(/\/+$/, '');
    if (!isHttpUrl(url)) throw usageError(`--url must be an http(s) URL, got "${url}"`);

    let credential: SavedCredential;
    if (options.email !== undefined) {
      const session = await ctx.client({ url, token: undefined, cookies: new CookieJar() });
      const created = await signInWithLink(session, options.email, {
        hostname: ctx.env.hostname,
        expires: options.expires,
        ask: () => ask(ctx.io, `A sign-in link was sent to ${options.email}. Paste the link here: `, { secret: true }),
      });
      credential = { url, token: created.token, tokenId: created.tokenId };
    } else {
      const token = options.token ?? (await ask(ctx.io, `API token for ${url}: `, { secret: true }));
      if (token === '') throw usageError('no token given');
      credential = { url, token };
    }
    const me = await (await ctx.client({ url, token: credential.token })).call('whoami');
    // Logging in again replaces a token the CLI made earlier; revoke that one so they do not pile up.
    if (previous?.tokenId && previous.token !== credential.token && sameOrigin(previous.url, url)) {
      await revokeOwnToken(await ctx.client({ url, token: previous.token }), previous.tokenId).catch(() => undefined);
    }
    await saveCredential(ctx.env.credentialsFile, credential);
    ctx.out.result(
      { url, principal: me.principal, credentialsFile: ctx.env.credentialsFile, tokenId: credential.tokenId ?? null },
      () => `signed in to ${url} as ${me.principal.email}; credential saved in ${ctx.env.credentialsFile}\n`,
    );
    return EXIT.ok;
  },
});

export const logoutCommand = defineCommand({
  path: ['logout'],
  summary: 'Remove the saved credential (and revoke the token if login created it)',
  async run(ctx) {
    const saved = await loadCredential(ctx.env.credentialsFile);
    if (!saved) {
      ctx.out.result({ signedOut: false, revokedTokenId: null }, () => 'not signed in; nothing to remove\n');
      return EXIT.ok;
    }
    let failure: unknown;
    if (saved.tokenId) {
      await revokeOwnToken(await ctx.client({ url: saved.url, token: saved.token }), saved.tokenId).catch((error) => {
        failure = error;
      });
    }
    // The local credential goes in any case: the user asked to be signed out here.
    await removeCredential(ctx.env.credentialsFile);
    if (failure !== undefined) {
      const code = failure instanceof AppError ? failure.code : 'internal';
      const reason = failure instanceof Error ? failure.message : String(failure);
      throw new AppError(
        code,
        `removed the saved credential, but could not revoke token ${saved.tokenId}: ${reason}; ` +
          `revoke it with agentpod token revoke ${saved.tokenId}`,
      );
    }
    const revoked = saved.tokenId ?? null;
    ctx.out.result(
      { signedOut: true, url: saved.url, revokedTokenId: revoked },
      () => `signed out of ${saved.url}${revoked ? ` (token ${revoked} revoked)` : ''}\n`,
    );
    return EXIT.ok;
  },
});

export const whoamiCommand = defineCommand({
  path: ['whoami'],
  summary: 'Who the CLI is signed in as, and their tenants',
  async run(ctx) {
    const client = await ctx.client();
    const me = await client.call('whoami');
    const { principal } = me;
    ctx.out.result({ url: client.baseUrl, ...me }, () => {
      const via =
        principal.via === 'token'
          ? `token ${principal.tokenId ?? ''} (role ${principal.tokenRole ?? '-'}, tenant ${principal.tokenTenantId ?? 'any'})`
          : 'session';
      const fields = formatFields([
        ['email', principal.email],
        ['user', principal.userId],
        ['platform admin', yesNo(principal.platformAdmin)],
        ['signed in with', via],
        ['gateway', client.baseUrl],
      ]);
      const tenants =
        me.memberships.length === 0
          ? 'no tenants\n'
          : formatTable(
              ['tenant', 'role'],
              me.memberships.map((m) => [m.tenantId, m.role]),
            );
      return `${fields}\n${tenants}`;
    });
    return EXIT.ok;
  },
});
