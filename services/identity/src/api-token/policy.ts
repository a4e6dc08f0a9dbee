import {
  AppError,
  effectiveRole,
  type Principal,
  roleAtLeast,
  roleRank,
  type TenantRole,
  type TokenRole,
} from '@agentpod/contracts';

/** A principal that may change things: a token capped at viewer may not (interfaces §2). */
export function assertMayChange(principal: Principal): void {
  if (principal.via === 'token' && principal.tokenRole === 'viewer') {
    throw new AppError('forbidden', 'a read-only (viewer) token cannot change anything');
  }
}

/**
 * A new token never has more rights than its creator (interfaces §9). For a tenant-scoped token the creator's
 * effective role there (membership, capped by the creator's own token) must reach the requested role; an
 * unscoped token is capped at use time by the holder's membership in each tenant, so it needs only the token
 * caps: a token-made token stays within its creator token's role and tenant. `membershipRole` is the
 * creator's role in `request.tenantId`; `tenantExists` whether that tenant exists.
 * Returns the error to throw, or undefined when the token may be created.
 */
export function tokenGrantError(
  principal: Principal,
  request: { role: TokenRole; tenantId?: string | undefined },
  membershipRole: TenantRole | undefined,
  tenantExists: boolean,
): AppError | undefined {
  if (principal.via === 'token') {
    const ownRole: TokenRole = principal.tokenRole ?? 'viewer';
    if (ownRole === 'viewer') return new AppError('forbidden', 'a read-only (viewer) token cannot change anything');
    if (principal.tokenTenantId !== undefined && request.tenantId !== principal.tokenTenantId) {
      return new AppError(
        'forbidden',
        `this token is confined to tenant ${principal.tokenTenantId}; it can only create tokens for that tenant`,
      );
    }
    if (roleRank(request.role) > roleRank(ownRole)) {
      return new AppError('forbidden', `this token is capped at ${ownRole}; it cannot create a ${request.role} token`);
    }
  }
  if (request.tenantId === undefined) return undefined;
  const role = tenantExists ? effectiveRole(principal, request.tenantId, membershipRole) : undefined;
  // No access and no tenant look the same, so a token request cannot probe which tenants exist.
  if (role === undefined) return new AppError('not_found', `no tenant ${request.tenantId}`);
  if (!roleAtLeast(role, request.role)) {
    return new AppError(
      'forbidden',
      `your role in ${request.tenantId} is ${role}; a token cannot have more rights than you (${request.role})`,
    );
  }
  return undefined;
}
