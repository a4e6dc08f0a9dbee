import { AppError, type Principal, type RequestMeta, streamName, TenantRole } from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { PodsDb } from '../db.ts';
import type { PodsRuntime } from '../deps.ts';
import { checkRole, isSystem, requirePrincipal, roleIn, type TenantStanding } from './policy.ts';

/**
 * Memberships from this service's copy of TENANTS, after that copy has applied everything the stream holds right
 * now: a member removed a moment ago has lost access on the next request, on every replica.
 */
export async function freshMemberships(runtime: PodsRuntime): Promise<void> {
  const info = await runtime.jsm.streams.info(streamName('tenants'));
  await runtime.caughtUp('tenants', info.state.last_seq);
}

export async function standingIn(db: Kysely<PodsDb>, userId: string, tenantId: string): Promise<TenantStanding> {
  const row = await db
    .selectFrom('tenants')
    .leftJoin('tenant_members', (join) =>
      join.onRef('tenant_members.tenant_id', '=', 'tenants.id').on('tenant_members.user_id', '=', userId),
    )
    .select(['tenants.id', 'tenant_members.role'])
    .where('tenants.id', '=', tenantId)
    .executeTakeFirst();
  return { tenantExists: row !== undefined, memberRole: row?.role ? TenantRole.parse(row.role) : undefined };
}

/**
 * Checks that the caller holds `required` in `tenantId` (services pass, as long as the tenant exists) and returns
 * the principal (undefined for a service).
 */
export async function requireTenant(
  runtime: PodsRuntime,
  meta: RequestMeta,
  tenantId: string,
  required: TenantRole,
  action: string,
  what?: string,
): Promise<Principal | undefined> {
  await freshMemberships(runtime);
  if (isSystem(meta)) {
    const exists = await runtime.db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!exists) throw new AppError('not_found', `tenant ${tenantId} does not exist`);
    return undefined;
  }
  const principal = requirePrincipal(meta);
  checkRole(principal, tenantId, await standingIn(runtime.db, principal.userId, tenantId), required, action, what);
  return principal;
}

/**
 * The tenants the caller may read (viewer+), with its role there; `all` for a platform admin or a service.
 * A token confined to one tenant sees that tenant only.
 */
export async function readableTenants(
  runtime: PodsRuntime,
  meta: RequestMeta,
): Promise<'all' | Map<string, TenantRole>> {
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
  const roles = new Map<string, TenantRole>();
  for (const row of rows) {
    const role = roleIn(principal, row.id, {
      tenantExists: true,
      memberRole: row.role ? TenantRole.parse(row.role) : undefined,
    });
    if (role) roles.set(row.id, role);
  }
  return roles;
}
