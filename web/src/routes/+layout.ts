import { redirect } from '@sveltejs/kit';
import { hasSessionCookie } from '../lib/api.ts';
import { live } from '../lib/live.svelte.ts';
import { session } from '../lib/session.svelte.ts';
import { signedOut } from '../lib/sign-out.ts';

/*
 * A single-page app: the gateway serves one shell for every route and the browser renders everything, from the
 * same REST API as the CLI. Every page but sign-in needs a session.
 */
export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';

export async function load({ url, fetch }) {
  // The live socket authenticates itself with the cookie: it connects (and brings the pods) while the session
  // and the tenants load, rather than after.
  if (hasSessionCookie()) live.start(signedOut);
  const signedIn = await session.load(fetch);
  if (!signedIn) live.stop();
  const signInPage = url.pathname === '/sign-in';
  if (!signedIn && !signInPage) {
    const next = url.pathname === '/' ? '' : `?next=${encodeURIComponent(url.pathname + url.search)}`;
    redirect(307, `/sign-in${next}`);
  }
  if (signedIn && signInPage) redirect(307, '/');
  return {};
}
