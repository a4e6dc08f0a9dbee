import { z } from 'zod';
import { Email, Principal, TokenRole } from './auth.ts';

/*
 * Identity: users, magic-link sign-in, sessions and API tokens. Secrets (link tokens, session tokens, API token
 * secrets) never appear in events or tables; only their SHA-256 hashes do.
 */

export const UserId = z.string().regex(/^usr_[a-z0-9]{20,40}$/, 'must be a user id (usr_…)');
export const ApiTokenId = z.string().regex(/^tok_[a-z0-9]{20,40}$/, 'must be a token id (tok_…)');

/** A duration such as `30d`, `12h`, `90m`; at most 366 days. */
export const Duration = z
  .string()
  .regex(/^[1-9][0-9]{0,5}[mhd]$/, 'must be a number followed by m, h or d (e.g. 30d)')
  .refine((value) => durationMs(value) <= 366 * 86_400_000, 'must be at most 366 days');

export function durationMs(value: string): number {
  const amount = Number(value.slice(0, -1));
  const unit = value.at(-1);
  return amount * (unit === 'd' ? 86_400_000 : unit === 'h' ? 3_600_000 : 60_000);
}

export const UserView = z.object({
  id: UserId,
  email: z.string(),
  platformAdmin: z.boolean(),
  disabled: z.boolean(),
  createdAt: z.string(),
});
export type UserView = z.infer<typeof UserView>;

export const identityEvents = {
  /** A user exists from their first sign-in request, invitation, or the bootstrap. */
  UserRegistered: z.object({ userId: UserId, email: z.string(), platformAdmin: z.boolean() }),
  UserDisabled: z.object({ userId: UserId }),
  UserEnabled: z.object({ userId: UserId }),
  /** Every session issued before this is void (sign out everywhere). */
  UserSessionsRevoked: z.object({ userId: UserId }),
  /** Aggregate: the link, keyed by the hash of its token. */
  MagicLinkIssued: z.object({ userId: UserId, email: z.string(), expiresAt: z.string() }),
  MagicLinkRedeemed: z.object({ userId: UserId, sessionId: z.string() }),
  /** Aggregate: the session, keyed by the hash of its token. `epoch` is the user's session epoch when issued. */
  SessionStarted: z.object({ sessionId: z.string(), userId: UserId, epoch: z.number().int(), expiresAt: z.string() }),
  SessionRenewed: z.object({ expiresAt: z.string() }),
  SessionEnded: z.object({ reason: z.enum(['sign-out', 'expired']) }),
  ApiTokenCreated: z.object({
    tokenId: ApiTokenId,
    userId: UserId,
    name: z.string(),
    role: TokenRole,
    tenantId: z.string().optional(),
    expiresAt: z.string().optional(),
    /** SHA-256 (hex) of the secret part of the token. */
    secretHash: z.string().length(64),
  }),
  ApiTokenRevoked: z.object({ tokenId: ApiTokenId }),
};

/** Bodies of the identity commands and queries (`identity.cmd.*`, `identity.qry.*`). */
export const IdentityCommands = {
  requestMagicLink: z.object({ email: Email }).strict(),
  redeemMagicLink: z.object({ token: z.string().min(20).max(200) }).strict(),
  signOut: z.object({ sessionToken: z.string().min(20).max(200) }).strict(),
  signOutEverywhere: z.object({ userId: UserId }).strict(),
  bootstrapAdmin: z.object({ email: Email }).strict(),
  createApiToken: z
    .object({
      name: z.string().trim().min(1).max(64),
      role: TokenRole.default('member'),
      tenantId: z.string().optional(),
      expiresIn: Duration.optional(),
    })
    .strict(),
  revokeApiToken: z.object({ tokenId: ApiTokenId }).strict(),
  setUserDisabled: z.object({ userId: UserId, disabled: z.boolean() }).strict(),
  /** Finds or registers the user with this email (invitations). */
  ensureUser: z.object({ email: Email }).strict(),
};

export const IdentityQueries = {
  /** Resolves a session token or an API token to its principal; `unauthenticated` when it is not valid. */
  authenticate: z.object({ credential: z.string().min(1).max(300) }).strict(),
  listApiTokens: z.object({ userId: UserId.optional() }).strict(),
  getUser: z.object({ userId: UserId.optional(), email: Email.optional() }).strict(),
  listUsers: z.object({}).strict(),
};

export const MagicLinkRedeemed = z.object({
  sessionToken: z.string(),
  sessionId: z.string(),
  expiresAt: z.string(),
  user: UserView,
});
export type MagicLinkRedeemedResult = z.infer<typeof MagicLinkRedeemed>;

export const ApiTokenView = z.object({
  id: ApiTokenId,
  name: z.string(),
  role: TokenRole,
  tenantId: z.string().nullable(),
  userId: UserId,
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revoked: z.boolean(),
});
export type ApiTokenView = z.infer<typeof ApiTokenView>;

export const AuthenticateResult = Principal;
