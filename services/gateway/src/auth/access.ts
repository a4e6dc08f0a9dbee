import {
  type AccessRule,
  AppError,
  effectiveRole,
  hasPlatformAdmin,
  type Principal,
  roleAtLeast,
  type TenantRole,
} from '@agentpod/contracts';

/*
 * The gateway's half of "authorised twice": a pure decision from the route's access rule, the caller and (for
 * tenant routes) the caller's membership role. The owning service decides again from its own data.
 */

export type AccessDecision = { ok: true } | { ok: false; error: AppError };

const allow: AccessDecision = { ok: true };
const deny = (error: AppError): AccessDecision => ({ ok: false, error });

/** True when the principal is a token capped at viewer: it may read, never change anything. */
export const isReadOnly = (principal: Principal): boolean =>
  principal.via === 'token' && principal.tokenRole === 'viewer';

/**
 * Whether deciding a tenant route needs the caller's membership role: a platform admin counts as owner of every
 * tenant and a token confined to another tenant has no access, whatever the membership says.
 */
export function needsMembership(principal: Principal, tenantId: string): boolean {
  if (principal.tokenTenantId !== undefined && principal.tokenTenantId !== tenantId) return false;
  return !principal.platformAdmin;
}

/**
 * Decides a request: no credentials → `unauthenticated` (401); a read-only token changing something →
 * `forbidden` (403); no access to the tenant → `not_found` (404, so a tenant's existence does not leak); a role
 * too low → `forbidden` (403).
 */
export function decideAccess(input: {
  rule: AccessRule;
  method: string;
  principal: Principal | undefined;
  /** The `:tenant` path parameter of a tenant route. */
  tenantId?: string;
  /** The caller's membership role in that tenant, before token caps (undefined: not a member). */
  membershipRole?: TenantRole;
}): AccessDecision {
  const { rule, principal } = input;
  if (rule === 'public') return allow;
  if (!principal) return deny(new AppError('unauthenticated', 'sign in, or send an API token (Authorization: Bearer)'));
  if (input.method !== 'GET' && isReadOnly(principal)) {
    return deny(new AppError('forbidden', 'this API token is read-only (viewer); it cannot change anything'));
  }
  if (rule === 'signedIn') return allow;
  if (rule === 'platformAdmin') {
    return hasPlatformAdmin(principal)
      ? allow
      : deny(new AppError('forbidden', 'only a platform admin (session or unscoped admin token) may do this'));
  }
  const tenantId = input.tenantId;
  if (tenantId === undefined) throw new Error('a tenant access rule needs a :tenant path parameter');
  const role = effectiveRole(principal, tenantId, input.membershipRole);
  if (role === undefined) return deny(new AppError('not_found', `no tenant ${tenantId}`));
  if (!roleAtLeast(role, rule.tenant)) {
    return deny(new AppError('forbidden', `this needs the ${rule.tenant} role in ${tenantId}; you have ${role}`));
  }
  return allow;
}
