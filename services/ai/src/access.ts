import {
  AppError,
  hasPlatformAdmin,
  type Principal,
  type RequestMeta,
  roleAtLeast,
  type TenantRole,
} from '@agentpod/contracts';
import { freshMemberships, tenantRoleOf } from '@agentpod/kit';
import type { AiRuntime } from './deps.ts';

/*
 * Who may use the assistant, from the service's own copy of the memberships (TENANTS): viewers and above ask,
 * diagnose and keep conversations (each their own), members and above generate specs, admins read the tenant's
 * configuration and usage, owners change the configuration; a platform admin counts as owner everywhere and alone
 * reads every tenant's usage. No access at all answers `not_found` (a tenant's existence does not leak), too low a
 * role `forbidden`. The assistant serves people: a request without a signed-in caller is `unauthenticated`.
 */

function requirePrincipal(meta: RequestMeta): Principal {
  if (!meta.principal) throw new AppError('unauthenticated', 'the assistant answers signed-in users only');
  return meta.principal;
}

/** Checks that the caller holds `required` in `tenantId`; returns the caller. */
export async function requireTenant(
  runtime: AiRuntime,
  meta: RequestMeta,
  tenantId: string,
  required: TenantRole,
  action: string,
): Promise<Principal> {
  const principal = requirePrincipal(meta);
  await freshMemberships(runtime);
  const role = await tenantRoleOf(runtime.db, principal, tenantId);
  if (role === undefined)
    throw new AppError('not_found', `tenant ${tenantId} does not exist or you have no access to it`);
  if (!roleAtLeast(role, required)) {
    throw new AppError('forbidden', `${action} needs the ${required} role or higher in ${tenantId}; you are ${role}`);
  }
  return principal;
}

/** Platform-wide reads (every tenant's usage): a platform admin's session or unscoped admin token. */
export function requirePlatformAdmin(meta: RequestMeta, action: string): void {
  const principal = requirePrincipal(meta);
  if (!hasPlatformAdmin(principal)) throw new AppError('forbidden', `${action} is for platform admins`);
}
