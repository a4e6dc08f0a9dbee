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
  /** Aggregate: the user, keyed by user id. A user exists from the bootstrap or an invitation (ensureUser). */
  UserRegistered: z.object({ userId: UserId, email: z.string(), platformAdmin: z.boolean() }),
  /** The bootstrap made an existing user the platform admin. */
  PlatformAdminGranted: z.object({ userId: UserId }),
  /** Every session and every API token issued before this is void for good, even after UserEnabled. */
  UserDisabled: z.object({ userId: UserId }),
  UserEnabled: z.object({ userId: UserId }),
  /** Every session issued before this is void (sign out everywhere): the user's session epoch moves on. */
  UserSessionsRevoked: z.object({ userId: UserId }),
  /**
   * Aggregate: the claim of an email address, keyed by `email-<sha256(email)>`. The first claim wins (optimistic
   * concurrency on a new subject), so one address is one user even when two registrations race.
   */
  EmailClaimed: z.object({ userId: UserId, email: z.string() }),
  /** Aggregate `platform`, a singleton: the first platform admin was bootstrapped; happens once. */
  PlatformBootstrapped: z.object({ userId: UserId }),
  /** Aggregate: the link, keyed by `link-<sha256(link token)>`. */
  MagicLinkIssued: z.object({ userId: UserId, email: z.string(), expiresAt: z.string() }),
  MagicLinkRedeemed: z.object({ userId: UserId, sessionId: z.string() }),
  /**
   * Aggregate: the session, keyed by `session-<sha256(session token)>`. `epoch` is the user's session epoch when
   * issued; the session is valid only while the user's epoch is unchanged.
   */
  SessionStarted: z.object({ sessionId: z.string(), userId: UserId, epoch: z.number().int(), expiresAt: z.string() }),
  /** Sliding expiry, moved at most once an hour so that requests do not each write an event. */
  SessionRenewed: z.object({ expiresAt: z.string() }),
  SessionEnded: z.object({ reason: z.enum(['sign-out', 'expired']) }),
  /** Aggregate: the token, keyed by its id. */
  ApiTokenCreated: z.object({
    tokenId: ApiTokenId,
    userId: UserId,
    name: z.string(),
    role: TokenRole,
    tenantId: z.string().optional(),
    expiresAt: z.string().optional(),
    /** SHA-256 (hex) of the secret part of the token. */
    secretHash: z.string().length(64),
    /** The user's token epoch when created; disabling the user moves it on, voiding the token for good. */
    epoch: z.number().int(),
  }),
  ApiTokenRevoked: z.object({ tokenId: ApiTokenId }),
};

/**
 * Prefixes of every secret AgentPod hands out (each followed by ≥128 random bits, base64url). `authenticate` tells
 * a session from an API token by it. An API token is `apt_<24 hex: token id without tok_>_<secret>`.
 */
export const CREDENTIAL_PREFIX = {
  session: 'aps_',
  apiToken: 'apt_',
  magicLink: 'apl_',
  invitation: 'apv_',
} as const;

/**
 * Bodies of the identity commands and queries (`identity.cmd.*`, `identity.qry.*`). Authorisation is from
 * `meta.principal`; a token capped at viewer may run no command. `system` actors (other services) may run
 * ensureUser and getUser.
 */
export const IdentityCommands = {
  /** Public. Unknown or disabled addresses get `{}` and no email. Per address: 5 links per 15 minutes. */
  requestMagicLink: z.object({ email: Email }).strict(),
  /** Public. Refused (`unauthenticated`) when unknown, expired or used; a link gives exactly one session. */
  redeemMagicLink: z.object({ token: z.string().min(20).max(200) }).strict(),
  /** The session token is its own authority; an unknown or ended session is a no-op. */
  signOut: z.object({ sessionToken: z.string().min(20).max(200) }).strict(),
  /** Yourself, or anyone for a platform admin. */
  signOutEverywhere: z.object({ userId: UserId }).strict(),
  /** Trusted caller (the gateway checked the bootstrap secret); `conflict` once a platform admin exists. */
  bootstrapAdmin: z.object({ email: Email }).strict(),
  /**
   * Never more rights than the creator: with `tenantId`, `role` is at most the creator's role there (`not_found`
   * when the creator has none); a token creator is further capped by its own role, tenant and expiry.
   */
  createApiToken: z
    .object({
      name: z.string().trim().min(1).max(64),
      role: TokenRole.default('member'),
      tenantId: z.string().optional(),
      expiresIn: Duration.optional(),
    })
    .strict(),
  /** Your own tokens; any token for a platform admin. Others' tokens are `not_found`. */
  revokeApiToken: z.object({ tokenId: ApiTokenId }).strict(),
  /** Platform admin only; nobody can disable themselves. */
  setUserDisabled: z.object({ userId: UserId, disabled: z.boolean() }).strict(),
  /** Finds or registers the user with this email (invitations). */
  ensureUser: z.object({ email: Email }).strict(),
};

export const IdentityQueries = {
  /** Resolves a session token or an API token to its principal; `unauthenticated` when it is not valid. */
  authenticate: z.object({ credential: z.string().min(1).max(300) }).strict(),
  /** Your own tokens; a platform admin gets every token, or one user's with `userId`. */
  listApiTokens: z.object({ userId: UserId.optional() }).strict(),
  /** By id or by email: yourself, any user for a platform admin or a system actor; otherwise `not_found`. */
  getUser: z.object({ userId: UserId.optional(), email: Email.optional() }).strict(),
  /** Platform admin only. */
  listUsers: z.object({}).strict(),
};

export const RedeemMagicLinkResult = z.object({
  /** The new session's token (`aps_…`): the gateway puts it in the session cookie and nowhere else. */
  sessionToken: z.string(),
  sessionId: z.string(),
  expiresAt: z.string(),
  user: UserView,
});
export type RedeemMagicLinkResult = z.infer<typeof RedeemMagicLinkResult>;
/** @deprecated the name of an event; use RedeemMagicLinkResult. */
export const MagicLinkRedeemed = RedeemMagicLinkResult;
export type MagicLinkRedeemedResult = RedeemMagicLinkResult;

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

/** Replies of the identity commands and queries, by the same keys as IdentityCommands and IdentityQueries. */
export const IdentityResults = {
  /** `localLink` only in local mode (no SMTP): the gateway prints it on its console and never returns it. */
  requestMagicLink: z.object({ localLink: z.string().optional() }),
  redeemMagicLink: RedeemMagicLinkResult,
  signOut: z.object({}),
  signOutEverywhere: z.object({}),
  /** `token` is an unscoped admin API token, shown once. */
  bootstrapAdmin: z.object({ user: UserView, signInLink: z.string(), token: z.string(), tokenId: ApiTokenId }),
  /** `token` is the secret, shown once; only its hash is kept. */
  createApiToken: z.object({ token: z.string(), view: ApiTokenView }),
  revokeApiToken: ApiTokenView,
  setUserDisabled: UserView,
  ensureUser: UserView,
  authenticate: AuthenticateResult,
  listApiTokens: z.object({ tokens: z.array(ApiTokenView) }),
  getUser: UserView,
  listUsers: z.object({ users: z.array(UserView) }),
} satisfies Record<keyof typeof IdentityCommands | keyof typeof IdentityQueries, z.ZodType>;

export type IdentityResult<K extends keyof typeof IdentityResults> = z.infer<(typeof IdentityResults)[K]>;

/*
 * Node credentials (identity owns them; the pods service owns the node registry). A join token (`apj_…`, one
 * hour, works once) is traded by the agent for a long-lived credential (`apn_…`); both are stored only as
 * SHA-256 hashes, in a `NodeCredential` aggregate per node (`identity.evt.nodecred_<nodeId>`). Revoking ends
 * every credential of the node at once and is broadcast on `controlSubjects.nodeRevoked`.
 */
const NodeIdField = z.string().regex(/^nod_[a-z0-9]{20,40}$/, 'must be a node id (nod_…)');

export const nodeCredentialEvents = {
  NodeJoinTokenIssued: z.object({ nodeId: NodeIdField, tokenHash: z.string().length(64), expiresAt: z.string() }),
  /** The join token was used: this credential replaces any earlier one. */
  NodeCredentialIssued: z.object({ nodeId: NodeIdField, credentialHash: z.string().length(64) }),
  NodeCredentialsRevoked: z.object({ nodeId: NodeIdField }),
};

export const NodeCredentialCommands = {
  /** Asked by the pods service (system actor) when a node is added or needs to join again. */
  issueNodeJoinToken: z.object({ nodeId: NodeIdField }).strict(),
  /** Asked by the gateway for `POST /api/v1/agent/join`; `unauthenticated` for an unknown, used or expired token. */
  redeemNodeJoinToken: z.object({ token: z.string().min(20).max(200) }).strict(),
  /** Asked by the pods service when a node is removed. */
  revokeNode: z.object({ nodeId: NodeIdField }).strict(),
};

export const NodeCredentialQueries = {
  /** Asked by the gateway on every agent socket upgrade (and periodically while it is open). */
  authenticateNode: z.object({ credential: z.string().min(20).max(200) }).strict(),
};

export const NodeCredentialResults = {
  issueNodeJoinToken: z.object({ token: z.string(), expiresAt: z.string() }),
  redeemNodeJoinToken: z.object({ nodeId: NodeIdField, credential: z.string() }),
  revokeNode: z.object({}),
  authenticateNode: z.object({ nodeId: NodeIdField }),
};

export type NodeCredentialResult<K extends keyof typeof NodeCredentialResults> = z.infer<
  (typeof NodeCredentialResults)[K]
>;

/**
 * What `POST /api/v1/agent/join` answers: identity's node id and credential, and the URL the agent dials from
 * now on (the gateway's AGENTPOD_PUBLIC_URL; the agent's socket is `<ws|wss>://<that host>/agent`).
 */
export const AgentJoinResult = NodeCredentialResults.redeemNodeJoinToken.extend({ gatewayUrl: z.string() });
export type AgentJoinResult = z.infer<typeof AgentJoinResult>;
