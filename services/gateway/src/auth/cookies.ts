import { createHash, timingSafeEqual } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';

/*
 * Session and CSRF cookies (interfaces §6). The CSRF value is derived from the session token (a domain-separated
 * SHA-256), so it needs no storage and a cookie planted by a sibling subdomain cannot match a victim's session;
 * it differs from the session hash identity stores, so the JS-readable cookie reveals nothing stored.
 */

export const CSRF_COOKIE = 'agentpod_csrf';

export const sessionCookieName = (https: boolean): string => (https ? '__Host-agentpod_session' : 'agentpod_session');

export const csrfTokenFor = (sessionToken: string): string =>
  createHash('sha256').update(`agentpod-csrf\0${sessionToken}`).digest('base64url');

/** Timing-safe string equality; hashing first makes the lengths equal, so the length does not leak either. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

const baseOptions = (https: boolean): CookieSerializeOptions => ({
  path: '/',
  sameSite: 'lax',
  secure: https,
});

/** Sets the session cookie (HttpOnly) and its CSRF companion (readable by the page's script). */
export function setSessionCookies(reply: FastifyReply, https: boolean, sessionToken: string, expiresAt: Date): void {
  reply.setCookie(sessionCookieName(https), sessionToken, {
    ...baseOptions(https),
    httpOnly: true,
    expires: expiresAt,
  });
  reply.setCookie(CSRF_COOKIE, csrfTokenFor(sessionToken), {
    ...baseOptions(https),
    httpOnly: false,
    expires: expiresAt,
  });
}

export function clearSessionCookies(reply: FastifyReply, https: boolean): void {
  reply.clearCookie(sessionCookieName(https), { ...baseOptions(https), httpOnly: true });
  reply.clearCookie(CSRF_COOKIE, { ...baseOptions(https), httpOnly: false });
}

/** Where the request's credential came from; only a cookie needs the CSRF check. */
export type Credential = { kind: 'cookie' | 'bearer'; value: string };

/**
 * The credential a request presents: `Authorization: Bearer apt_…` wins over the session cookie. Returns
 * undefined when there is none, and a string describing the problem when what is there cannot be a credential
 * (so garbage never costs a NATS round trip).
 */
export function readCredential(request: FastifyRequest, https: boolean): Credential | string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer ([A-Za-z0-9_-]{1,300})$/.exec(header.trim());
    if (!match?.[1]?.startsWith('apt_')) {
      return 'the Authorization header must be "Bearer apt_…" (an API token)';
    }
    return { kind: 'bearer', value: match[1] };
  }
  const cookie = request.cookies[sessionCookieName(https)];
  if (cookie === undefined || cookie === '') return undefined;
  if (!/^aps_[A-Za-z0-9_-]{1,296}$/.test(cookie)) return 'the session cookie is not valid; sign in again';
  return { kind: 'cookie', value: cookie };
}

/** Double-submit check for a cookie-authenticated request that changes something. */
export function csrfHeaderMatches(request: FastifyRequest, sessionToken: string, header: string): boolean {
  const sent = request.headers[header];
  return typeof sent === 'string' && sameSecret(sent, csrfTokenFor(sessionToken));
}
