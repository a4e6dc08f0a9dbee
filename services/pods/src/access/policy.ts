import {
  AppError,
  effectiveRole,
  hasPlatformAdmin,
  type Principal,
  type RequestMeta,
  roleAtLeast,
  type TenantRole,
} from '@agentpod/contracts';

/*
 * Who may do what with pods and nodes, pure. Tenant viewer+ reads a tenant's pods and nodes, member+ changes its
 * pods, admin+ reads a pod's access token, owner+ adds and removes the tenant's own nodes; a platform admin may do
 * everything and alone manages the platform pool. No access at all answers `not_found` (existence does not leak),
 * too low a role `forbidden`.
 */

/** Another service acting on its own behalf (no principal). */
export const isSystem = (meta: RequestMeta): boolean => meta.actor.kind === 'system' && meta.principal === undefined;

/** The one service allowed a system-only request: `reconciler` for container specs, `tenants` for tenant deletion. */
export const isService = (meta: RequestMeta, service: string): boolean => isSystem(meta) && meta.actor.id === service;

export function requirePrincipal(meta: RequestMeta): Principal {
  if (!meta.principal) throw new AppError('unauthenticated', 'this request needs a signed-in caller');
  return meta.principal;
}

/** What the service knows of the caller's place in one tenant. */
export type TenantStanding = { tenantExists: boolean; memberRole: TenantRole | undefined };

/** The caller's effective role in a tenant, or undefined without access (a platform admin counts as owner). */
export function roleIn(principal: Principal, tenantId: string, standing: TenantStanding): TenantRole | undefined {
  if (!standing.tenantExists) return undefined;
  return effectiveRole(principal, tenantId, standing.memberRole);
}

/** `not_found` without access, `forbidden` below `required`; the role otherwise. */
export function checkRole(
  principal: Principal,
  tenantId: string,
  standing: TenantStanding,
  required: TenantRole,
  action: string,
  what = `tenant ${tenantId}`,
): TenantRole {
  const role = roleIn(principal, tenantId, standing);
  if (role === undefined) throw new AppError('not_found', `${what} does not exist or you have no access to it`);
  if (!roleAtLeast(role, required)) {
    throw new AppError('forbidden', `${action} needs the ${required} role or higher in ${tenantId}; you are ${role}`);
  }
  return role;
}

/** Platform-pool nodes: a platform admin (session or unscoped admin token) or a service. */
export function mayManagePool(meta: RequestMeta): boolean {
  return isSystem(meta) || (meta.principal !== undefined && hasPlatformAdmin(meta.principal));
}
