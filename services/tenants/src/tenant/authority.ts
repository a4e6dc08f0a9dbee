import { AppError, effectiveRole, type Principal, roleAtLeast, roleRank, type TenantRole } from '@agentpod/contracts';
import type { TenantState } from './events.ts';

/*
 * Who may change a tenant, as pure checks on the aggregate's state. Order matters: no access at all answers
 * `not_found` before anything else, so a stranger learns nothing about a tenant; then a read-only token is
 * refused; then a role too low is `forbidden`.
 */

export const tenantNotFound = (tenantId: string): AppError =>
  new AppError('not_found', `tenant ${tenantId} does not exist or you have no access to it`);

/** A token capped at viewer changes nothing, whoever created it. */
export const isReadOnly = (principal: Principal): boolean =>
  principal.via === 'token' && principal.tokenRole === 'viewer';

export const readOnlyRefused = (): AppError =>
  new AppError('forbidden', 'this API token is read-only (viewer); it cannot change anything');

/**
 * The caller's effective role in an active tenant, for a change: `not_found` without access, `forbidden` for a
 * read-only token.
 */
export function changerRole(state: TenantState, tenantId: string, principal: Principal): TenantRole | AppError {
  if (state.status !== 'active') return tenantNotFound(tenantId);
  const role = effectiveRole(principal, tenantId, state.members[principal.userId]?.role);
  if (role === undefined) return tenantNotFound(tenantId);
  if (isReadOnly(principal)) return readOnlyRefused();
  return role;
}

/** `forbidden` unless `role` is at least `required`. */
export function requireRole(role: TenantRole, required: TenantRole, action: string): AppError | undefined {
  return roleAtLeast(role, required)
    ? undefined
    : new AppError('forbidden', `${action} needs the ${required} role or higher; you are ${role}`);
}

/** Nobody grants a role above their own, nor acts on someone whose role is above their own. */
export function requireNotAbove(role: TenantRole, granted: TenantRole, what: string): AppError | undefined {
  return roleRank(granted) <= roleRank(role)
    ? undefined
    : new AppError('forbidden', `you are ${role}: you cannot ${what} ${granted}`);
}
