import {
  AppError,
  effectiveRole,
  type Principal,
  type RequestMeta,
  roleAtLeast,
  TenantRole,
} from '@agentpod/contracts';
import { freshMemberships, tenantRoleOf } from '@agentpod/kit';
import type { MonitorRuntime } from './deps.ts';

/*
 * Who may do what with alerts and webhooks, from the monitor's own copy of the memberships (TENANTS): a tenant's
 * viewers read its alerts, its admins manage its webhooks, a platform admin does everything and alone sees every
 * tenant's alerts at once. No access at all answers `not_found` (a tenant's existence does not leak), too low a
 * role `forbidden`.
 */

/** Another service acting on its own behalf (no principal). */
const isSystem = (meta: RequestMeta): boolean => meta.actor.kind === 'system' && meta.principal === undefined;

function requirePrincipal(meta: RequestMeta): Principal {
  if (!meta.principal) throw new AppError('unauthenticated', 'this request needs a signed-in caller');
  return meta.principal;
}

/** Checks that the caller holds `required` in `tenantId` (a service passes, if the tenant exists). */
export async function requireTenant(
  runtime: MonitorRuntime,
  meta: RequestMeta,
  tenantId: string,
  required: TenantRole,
  action: string,
): Promise<void> {
  await freshMemberships(runtime);
  if (isSystem(meta)) {
    const exists = await runtime.db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!exists) throw new AppError('not_found', `tenant ${tenantId} does not exist`);
    return;
  }
  const principal = requirePrincipal(meta);
  const role = await tenantRoleOf(runtime.db, principal, tenantId);
  if (role === undefined)
    throw new AppError('not_found', `tenant ${tenantId} does not exist or you have no access to it`);
  if (!roleAtLeast(role, required)) {
    throw new AppError('forbidden', `${action} needs the ${required} role or higher in ${tenantId}; you are ${role}`);
  }
}

/**
 * The tenants whose alerts the caller may read (viewer+); `all` (platform alerts included) for a platform admin
 * with no tenant-confined token, or a service.
 */
export async function readableTenants(runtime: MonitorRuntime, meta: RequestMeta): Promise<'all' | string[]> {
  if (isSystem(meta)) return 'all';
  const principal = requirePrincipal(meta);
  if (principal.platformAdmin && principal.tokenTenantId === undefined) return 'all';
  await freshMemberships(runtime);
  const rows = await runtime.db
    .selectFrom('tenants')
    .leftJoin('tenant_members', (join) =>
      join.onRef('tenant_members.tenant_id', '=', 'tenants.id').on('tenant_members.user_id', '=', principal.userId),
    )
    .select(['tenants.id', 'tenant_members.role'])
    .$if(!principal.platformAdmin, (q) => q.where('tenant_members.role', 'is not', null))
    .execute();
  return rows
    .filter((row) => effectiveRole(principal, row.id, row.role ? TenantRole.parse(row.role) : undefined) !== undefined)
    .map((row) => row.id);
}
