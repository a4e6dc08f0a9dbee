import { z } from 'zod';
import { Email, TenantRole } from './auth.ts';
import { UserId } from './identity.ts';

/**
 * A tenant id is a slug: lower-case ASCII letters, digits and inner hyphens, 3–32 characters. ASCII only, so a
 * look-alike (homoglyph) of another tenant's slug cannot be registered.
 */
export const TenantId = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
    'must be 3-32 lower-case letters, digits or inner hyphens, starting with a letter',
  );
export type TenantId = z.infer<typeof TenantId>;

/** A display name: printable text without control characters. */
export const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control or format characters');

export const InvitationId = z.string().regex(/^inv_[a-z0-9]{20,40}$/, 'must be an invitation id (inv_…)');

/** Every invitation token starts with this; the rest is ≥128 random bits, base64url. Only its SHA-256 is stored. */
export const INVITATION_TOKEN_PREFIX = 'apv_';

/** How long an invitation can be accepted. */
export const INVITATION_TTL_MS = 7 * 86_400_000;

/*
 * Events of the tenant aggregate (`tenants.evt.<tenantId>`); every one carries `tenantId` in its envelope.
 * Membership is stated only by MemberAdded / MemberRoleChanged / MemberRemoved (the creator joins through a
 * MemberAdded right after TenantCreated), and TenantDeleted ends every membership of the tenant at once: a
 * projection of memberships needs those four events and nothing else.
 */
export const tenantEvents = {
  TenantCreated: z.object({ tenantId: TenantId, name: z.string(), ownerId: UserId }),
  TenantRenamed: z.object({ name: z.string() }),
  TenantDeleted: z.object({ podsDeleted: z.number().int().nonnegative() }),
  MemberAdded: z.object({ userId: UserId, email: z.string(), role: TenantRole }),
  MemberRoleChanged: z.object({ userId: UserId, role: TenantRole }),
  MemberRemoved: z.object({ userId: UserId }),
  InvitationCreated: z.object({
    invitationId: InvitationId,
    email: z.string(),
    role: TenantRole,
    expiresAt: z.string(),
    /** SHA-256 (hex) of the invitation token; the token itself is only in the email. */
    tokenHash: z.string().length(64),
  }),
  InvitationAccepted: z.object({ invitationId: InvitationId, userId: UserId }),
  InvitationRevoked: z.object({ invitationId: InvitationId }),
};

export const TenantCommands = {
  createTenant: z.object({ id: TenantId, name: DisplayName }).strict(),
  renameTenant: z.object({ tenantId: TenantId, name: DisplayName }).strict(),
  deleteTenant: z.object({ tenantId: TenantId, force: z.boolean().default(false) }).strict(),
  inviteMember: z.object({ tenantId: TenantId, email: Email, role: TenantRole }).strict(),
  acceptInvitation: z.object({ token: z.string().min(20).max(200) }).strict(),
  revokeInvitation: z.object({ tenantId: TenantId, invitationId: InvitationId }).strict(),
  changeMemberRole: z.object({ tenantId: TenantId, userId: UserId, role: TenantRole }).strict(),
  removeMember: z.object({ tenantId: TenantId, userId: UserId }).strict(),
};

export const TenantQueries = {
  listTenants: z.object({}).strict(),
  getTenant: z.object({ tenantId: TenantId }).strict(),
  listMembers: z.object({ tenantId: TenantId }).strict(),
  listInvitations: z.object({ tenantId: TenantId }).strict(),
  /** The caller's role in a tenant (membership only, before token caps); `not_found` when none. */
  membership: z.object({ tenantId: TenantId, userId: UserId }).strict(),
  /** Every tenant a user belongs to, with the role. */
  memberships: z.object({ userId: UserId }).strict(),
};

export const TenantView = z.object({
  id: TenantId,
  name: z.string(),
  status: z.enum(['active', 'deleted']),
  createdAt: z.string(),
  memberCount: z.number().int(),
  /**
   * The caller's effective role: its membership role capped by its token, `owner` for a platform admin.
   * Absent when the caller has no role there (only a platform admin can see such a tenant).
   */
  role: TenantRole.optional(),
});
export type TenantView = z.infer<typeof TenantView>;

export const MemberView = z.object({
  userId: UserId,
  email: z.string(),
  role: TenantRole,
  joinedAt: z.string(),
});
export type MemberView = z.infer<typeof MemberView>;

export const InvitationView = z.object({
  id: InvitationId,
  email: z.string(),
  role: TenantRole,
  createdAt: z.string(),
  expiresAt: z.string(),
  status: z.enum(['pending', 'accepted', 'revoked', 'expired']),
});
export type InvitationView = z.infer<typeof InvitationView>;

/** Reply of `tenants.cmd.inviteMember`: `localLink` only in local mode (no SMTP), for the gateway's console. */
export const InviteMemberResult = InvitationView.extend({ localLink: z.string().optional() });
export type InviteMemberResult = z.infer<typeof InviteMemberResult>;

/** Reply of `tenants.cmd.acceptInvitation`: the new (or existing) membership. */
export const AcceptInvitationResult = MemberView.extend({ tenantId: TenantId });
export type AcceptInvitationResult = z.infer<typeof AcceptInvitationResult>;

/** Reply of `tenants.qry.membership`: the membership role, before any token cap (strongly consistent). */
export const MembershipView = z.object({ tenantId: TenantId, userId: UserId, role: TenantRole });
export type MembershipView = z.infer<typeof MembershipView>;

/** Reply of `tenants.qry.memberships`. */
export const MembershipsResult = z.object({
  memberships: z.array(z.object({ tenantId: TenantId, role: TenantRole })),
});
export type MembershipsResult = z.infer<typeof MembershipsResult>;

/*
 * The one pods query the tenants service needs (deleting a tenant is refused while it has pods). It lives here
 * until the pods contracts exist: `pods.qry.countTenantPods`, asked by a system actor.
 */
export const CountTenantPods = z.object({ tenantId: TenantId }).strict();
export const TenantPodCount = z.object({ count: z.number().int().nonnegative() });
export type TenantPodCount = z.infer<typeof TenantPodCount>;
