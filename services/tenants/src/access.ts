import {
  AppError,
  effectiveRole,
  type Principal,
  type RequestMeta,
  roleAtLeast,
  type TenantRole,
} from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { TenantsDb } from './db.ts';

/*
 * Authorisation of queries, from the caller's principal (set by the gateway) and this service's own read model.
 * The gateway checked already; this is the second, independent check.
 */

/** The authenticated caller; `unauthenticated` when the request carries none. */
export function requirePrincipal(meta: RequestMeta): Principal {
  if (!meta.principal) throw new AppError('unauthenticated', 'this request needs a signed-in caller');
  return meta.principal;
}

/** Another service asking on its own behalf (no principal): trusted with membership look-ups. */
export const isSystemCaller = (meta: RequestMeta): boolean => meta.actor.kind === 'system' && !meta.principal;

/** Membership roles of a user in every active tenant, from the read model. */
export async function membershipRoles(db: Kysely<TenantsDb>, userId: string): Promise<Map<string, TenantRole>> {
  const rows = await db
    .selectFrom('members')
    .innerJoin('tenants', 'tenants.id', 'members.tenant_id')
    .select(['members.tenant_id', 'members.role'])
    .where('members.user_id', '=', userId)
    .where('tenants.status', '=', 'active')
    .execute();
  return new Map(rows.map((row) => [row.tenant_id, row.role]));
}

/** The caller's effective role in an active tenant, or undefined when it has none or the tenant does not exist. */
export async function callerRole(
  db: Kysely<TenantsDb>,
  principal: Principal,
  tenantId: string,
): Promise<TenantRole | undefined> {
  const row = await db
    .selectFrom('tenants')
    .leftJoin('members', (join) =>
      join.onRef('members.tenant_id', '=', 'tenants.id').on('members.user_id', '=', principal.userId),
    )
    .select(['tenants.status', 'members.role'])
    .where('tenants.id', '=', tenantId)
    .executeTakeFirst();
  if (row?.status !== 'active') return undefined;
  return effectiveRole(principal, tenantId, row.role ?? undefined);
}

/**
 * The caller's role when it is at least `required`: `not_found` without any access (existence does not leak),
 * `forbidden` when it has a lower role.
 */
export async function requireTenantRole(
  db: Kysely<TenantsDb>,
  principal: Principal,
  tenantId: string,
  required: TenantRole,
  action: string,
): Promise<TenantRole> {
  const role = await callerRole(db, principal, tenantId);
  if (role === undefined) {
    throw new AppError('not_found', `tenant ${tenantId} does not exist or you have no access to it`);
  }
  if (!roleAtLeast(role, required)) {
    throw new AppError('forbidden', `${action} needs the ${required} role or higher in ${tenantId}; you are ${role}`);
  }
  return role;
}
