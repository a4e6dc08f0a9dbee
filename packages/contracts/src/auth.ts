import { z } from 'zod';

/** Roles inside a tenant, weakest first. A role includes every right of the roles before it. */
export const TENANT_ROLES = ['viewer', 'member', 'admin', 'owner'] as const;
export const TenantRole = z.enum(TENANT_ROLES);
export type TenantRole = z.infer<typeof TenantRole>;

/**
 * Roles an API token can be capped at: any tenant role. A token is still never more than its creator (the cap is
 * applied to the creator's own role at use time); `owner` lets the CLI do what its owner may, deleting a tenant
 * included.
 */
export const TokenRole = z.enum(TENANT_ROLES);
export type TokenRole = z.infer<typeof TokenRole>;

export const roleRank = (role: TenantRole): number => TENANT_ROLES.indexOf(role);

/** True when `role` carries at least the rights of `required`. */
export const roleAtLeast = (role: TenantRole | undefined, required: TenantRole): boolean =>
  role !== undefined && roleRank(role) >= roleRank(required);

/** The weaker of two roles; undefined when either is. */
export function weakerRole(a: TenantRole | undefined, b: TenantRole | undefined): TenantRole | undefined {
  if (a === undefined || b === undefined) return undefined;
  return roleRank(a) <= roleRank(b) ? a : b;
}

/** Lower-cased, trimmed email address. */
export const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email({ message: 'must be an email address' }))
  .transform((value) => value.toLowerCase());
export type Email = z.infer<typeof Email>;

/**
 * Who is calling, as established by the gateway from a session cookie or an API token, and passed to services
 * in `RequestMeta.principal`. Services compute effective rights from it and their own membership data:
 * a token is capped at `tokenRole` and, when `tokenTenantId` is set, confined to that tenant.
 */
export const Principal = z.object({
  userId: z.string().min(1),
  email: z.string(),
  platformAdmin: z.boolean(),
  via: z.enum(['session', 'token']),
  sessionId: z.string().optional(),
  tokenId: z.string().optional(),
  tokenRole: TokenRole.optional(),
  tokenTenantId: z.string().optional(),
});
export type Principal = z.infer<typeof Principal>;

/**
 * The role a principal effectively holds in a tenant: its membership role (a platform admin counts as owner),
 * capped by its token. Undefined means no access at all.
 */
export function effectiveRole(
  principal: Principal,
  tenantId: string,
  membershipRole: TenantRole | undefined,
): TenantRole | undefined {
  if (principal.tokenTenantId !== undefined && principal.tokenTenantId !== tenantId) return undefined;
  const base: TenantRole | undefined = principal.platformAdmin ? 'owner' : membershipRole;
  return principal.via === 'token' ? weakerRole(base, principal.tokenRole) : base;
}

/** Platform-wide powers (create tenants, add nodes, replay): a platform admin's session or unscoped admin/owner token. */
export const hasPlatformAdmin = (principal: Principal): boolean =>
  principal.platformAdmin &&
  (principal.via === 'session' || (roleAtLeast(principal.tokenRole, 'admin') && principal.tokenTenantId === undefined));
