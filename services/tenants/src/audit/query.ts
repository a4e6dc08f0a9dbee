import {
  AppError,
  type AuditEntry,
  type AuditPage,
  AuditQuery,
  effectiveRole,
  hasPlatformAdmin,
  type Principal,
  querySubject,
  roleAtLeast,
} from '@agentpod/contracts';
import { handler, type ServiceRuntime } from '@agentpod/kit';
import { type Kysely, type Selectable, sql } from 'kysely';
import { callerRole, membershipRoles, requirePrincipal } from '../access.ts';
import type { AuditEntriesTable, TenantsDb } from '../db.ts';
import type { TenantsEnv } from '../env.ts';

/** Which entries a caller may read: all of them, or those of these tenants (possibly none). */
type Scope = { all: true } | { all: false; tenants: string[] };

/**
 * A platform admin reads everything; a tenant admin or owner reads their tenants' entries; others nothing.
 * Naming a tenant: `not_found` without access, `forbidden` below admin.
 */
export async function auditScope(db: Kysely<TenantsDb>, principal: Principal, tenant?: string): Promise<Scope> {
  if (hasPlatformAdmin(principal)) return tenant ? { all: false, tenants: [tenant] } : { all: true };
  if (tenant) {
    const role = await callerRole(db, principal, tenant);
    if (role === undefined)
      throw new AppError('not_found', `tenant ${tenant} does not exist or you have no access to it`);
    if (!roleAtLeast(role, 'admin')) {
      throw new AppError(
        'forbidden',
        `reading the audit log of ${tenant} needs the admin role or higher; you are ${role}`,
      );
    }
    return { all: false, tenants: [tenant] };
  }
  const roles = await membershipRoles(db, principal.userId);
  // A platform admin's token confined to one tenant is owner there (capped by the token) without membership.
  const candidates = new Set(roles.keys());
  if (principal.platformAdmin && principal.tokenTenantId) candidates.add(principal.tokenTenantId);
  const tenants = [...candidates].filter((tenantId) =>
    roleAtLeast(effectiveRole(principal, tenantId, roles.get(tenantId)), 'admin'),
  );
  return { all: false, tenants };
}

export const entryFromRow = (row: Selectable<AuditEntriesTable>): AuditEntry => ({
  eventId: row.event_id,
  type: row.type,
  context: row.context,
  aggregateId: row.aggregate_id,
  tenantId: row.tenant_id,
  actor: {
    kind: row.actor_kind,
    id: row.actor_id,
    ...(row.actor_kind === 'token' && row.actor_user ? { onBehalfOf: row.actor_user } : {}),
  },
  correlationId: row.correlation_id,
  occurredAt: row.occurred_at.toISOString(),
  data: row.data,
});

/** One page, newest first, ordered by (occurred_at, event_id): stable, and the same after a replay. */
export async function readAudit(db: Kysely<TenantsDb>, scope: Scope, query: AuditQuery): Promise<AuditPage> {
  if (!scope.all && scope.tenants.length === 0) return { entries: [], next: null };
  let select = db.selectFrom('audit_entries').selectAll();
  if (!scope.all) select = select.where('tenant_id', 'in', scope.tenants);
  if (query.actor) {
    const actor = query.actor;
    select = select.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_user', '=', actor)]));
  }
  if (query.type) select = select.where('type', '=', query.type);
  if (query.before) {
    const cursor = await db
      .selectFrom('audit_entries')
      .select(['occurred_at', 'event_id'])
      .where('event_id', '=', query.before)
      .executeTakeFirst();
    if (!cursor) throw new AppError('invalid', 'before: not a cursor this audit log gave out');
    select = select.where(
      sql<boolean>`(occurred_at, event_id) < (${cursor.occurred_at.toISOString()}::timestamptz, ${cursor.event_id}::uuid)`,
    );
  }
  const rows = await select
    .orderBy('occurred_at', 'desc')
    .orderBy('event_id', 'desc')
    .limit(query.limit + 1)
    .execute();
  const page = rows.slice(0, query.limit);
  const next = rows.length > query.limit ? (page.at(-1)?.event_id ?? null) : null;
  return { entries: page.map(entryFromRow), next };
}

export function registerAuditQuery(runtime: ServiceRuntime<TenantsDb, TenantsEnv>): void {
  runtime.serve(
    querySubject('tenants', 'audit'),
    handler(AuditQuery, async (query, meta) => {
      const principal = requirePrincipal(meta);
      return readAudit(runtime.db, await auditScope(runtime.db, principal, query.tenant), query);
    }),
  );
}
