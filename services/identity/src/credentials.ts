import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CREDENTIAL_PREFIX } from '@agentpod/contracts';

/*
 * Every secret identity hands out: 256 random bits, base64url, behind a prefix that says what it is. Only
 * SHA-256 hashes of secrets reach events and tables. Aggregates found by a secret are keyed by its hash.
 */

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const secret = (): string => randomBytes(32).toString('base64url');
/** 96 random bits, lower-case hex: the body of user, token and session ids. */
const idBody = (): string => randomBytes(12).toString('hex');

export const newUserId = (): string => `usr_${idBody()}`;
export const newSessionId = (): string => `ses_${idBody()}`;
export const newLinkToken = (): string => `${CREDENTIAL_PREFIX.magicLink}${secret()}`;
export const newSessionToken = (): string => `${CREDENTIAL_PREFIX.session}${secret()}`;

/** A new API token `apt_<id body>_<secret>`: its id (`tok_<id body>`) travels inside it, its secret is hashed. */
export function newApiToken(): { tokenId: string; token: string; secretHash: string } {
  const body = idBody();
  const tokenSecret = secret();
  return {
    tokenId: `tok_${body}`,
    token: `${CREDENTIAL_PREFIX.apiToken}${body}_${tokenSecret}`,
    secretHash: sha256(tokenSecret),
  };
}

const API_TOKEN = /^apt_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;

/** The token id and the hash of the secret of an API token; undefined when it is not shaped like one. */
export function parseApiToken(credential: string): { tokenId: string; secretHash: string } | undefined {
  const match = API_TOKEN.exec(credential);
  if (!match?.[1] || !match[2]) return undefined;
  return { tokenId: `tok_${match[1]}`, secretHash: sha256(match[2]) };
}

/** Compares two hex hashes in constant time. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** Aggregate ids: one address claim per email, one link per link token, one session per session token. */
export const emailAggregateId = (email: string): string => `email-${sha256(email)}`;
export const linkAggregateId = (token: string): string => `link-${sha256(token)}`;
export const sessionAggregateId = (token: string): string => `session-${sha256(token)}`;
/** The singleton that records the bootstrap of the first platform admin. */
export const PLATFORM_AGGREGATE_ID = 'platform';
