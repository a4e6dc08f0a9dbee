import {
  AppError,
  effectiveRole,
  hasPlatformAdmin,
  type MembershipsResult,
  type MembershipView,
  querySubject,
  TenantQueries,
  type TenantRole,
  type TenantView,
} from '@agentpod/contracts';
import { type AggregateRepository, handler, type ServiceRuntime } from '@agentpod/kit';
import { sql } from 'kysely';
import { isSystemCaller, membershipRoles, requirePrincipal, requireTenantRole } from '../../access.ts';
import type { TenantsDb } from '../../db.ts';
import type { TenantsEnv } from '../../env.ts';
import type { TenantEvents, TenantState } from '../events.ts';
import { invitationFromRow, iso, memberFromRow } from './rows.ts';

type Runtime = ServiceRuntime<TenantsDb, TenantsEnv>;

async function tenantRows(runtime: Runtime, ids: readonly string[] | 'all') {
  let query = runtime.db
    .selectFrom('tenants')
    .select(['id', 'name', 'status', 'created_at'])
    .select(sql<number>`(select count(*)::int from members m where m.tenant_id = tenants.id)`.as('member_count'))
    .where('status', '=', 'active')
    .orderBy('id');
  if (ids !== 'all') {
    if (ids.length === 0) return [];
    query = query.where('id', 'in', ids);
  }
  return query.execute();
}

type TenantRow = Awaited<ReturnType<typeof tenantRows>>[number];

const tenantFromRow = (row: TenantRow, role: TenantRole | undefined): TenantView => ({
  id: row.id,
  name: row.name,
  status: row.status,
  createdAt: iso(row.created_at),
  memberCount: row.member_count,
  ...(role ? { role } : {}),
});

/** Registers the tenant queries. `membership` reads the aggregate (it gates authorisation); the rest the tables. */
export function registerTenantQueries(
  runtime: Runtime,
  repository: AggregateRepository<TenantState, TenantEvents>,
): void {
  const { db } = runtime;

  runtime.serve(
    querySubject('tenants', 'listTenants'),
    handler(TenantQueries.listTenants, async (_input, meta): Promise<{ tenants: TenantView[] }> => {
      const principal = requirePrincipal(meta);
      const roles = await membershipRoles(db, principal.userId);
      // A platform admin sees every tenant (unless its token is confined to one); everyone else their own.
      const rows = await tenantRows(runtime, principal.platformAdmin ? 'all' : [...roles.keys()]);
      const tenants = rows.flatMap((row) => {
        const role = effectiveRole(principal, row.id, roles.get(row.id));
        return role ? [tenantFromRow(row, role)] : [];
      });
      return { tenants };
    }),
  );

  runtime.serve(
    querySubject('tenants', 'getTenant'),
    handler(TenantQueries.getTenant, async ({ tenantId }, meta): Promise<TenantView> => {
      const principal = requirePrincipal(meta);
      const role = await requireTenantRole(db, principal, tenantId, 'viewer', 'reading a tenant');
      const [row] = await tenantRows(runtime, [tenantId]);
      if (!row) throw new AppError('not_found', `tenant ${tenantId} does not exist or you have no access to it`);
      return tenantFromRow(row, role);
    }),
  );

  runtime.serve(
    querySubject('tenants', 'listMembers'),
    handler(TenantQueries.listMembers, async ({ tenantId }, meta) => {
      await requireTenantRole(db, requirePrincipal(meta), tenantId, 'viewer', 'listing members');
      const rows = await db
        .selectFrom('members')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('joined_at')
        .orderBy('user_id')
        .execute();
      return { members: rows.map(memberFromRow) };
    }),
  );

  runtime.serve(
    querySubject('tenants', 'listInvitations'),
    handler(TenantQueries.listInvitations, async ({ tenantId }, meta) => {
      await requireTenantRole(db, requirePrincipal(meta), tenantId, 'admin', 'listing invitations');
      const rows = await db
        .selectFrom('invitations')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
      const now = runtime.clock();
      return { invitations: rows.map((row) => invitationFromRow(row, now)) };
    }),
  );

  runtime.serve(
    querySubject('tenants', 'membership'),
    handler(TenantQueries.membership, async ({ tenantId, userId }, meta): Promise<MembershipView> => {
      const notFound = new AppError('not_found', `${userId} is not a member of ${tenantId}`);
      const { state } = await repository.load(tenantId);
      if (state.status !== 'active') throw notFound;
      if (!isSystemCaller(meta)) {
        // The user itself, a platform admin, or anyone with access to the tenant (who can list its members).
        const principal = requirePrincipal(meta);
        const own = principal.userId === userId;
        const access = effectiveRole(principal, tenantId, state.members[principal.userId]?.role);
        if (!own && access === undefined) throw notFound;
      }
      const member = state.members[userId];
      if (!member) throw notFound;
      return { tenantId, userId, role: member.role };
    }),
  );

  runtime.serve(
    querySubject('tenants', 'memberships'),
    handler(TenantQueries.memberships, async ({ userId }, meta): Promise<MembershipsResult> => {
      if (!isSystemCaller(meta)) {
        const principal = requirePrincipal(meta);
        if (principal.userId !== userId && !hasPlatformAdmin(principal)) {
          throw new AppError('forbidden', "only a platform admin may list another user's memberships");
        }
      }
      const roles = await membershipRoles(db, userId);
      return { memberships: [...roles].map(([tenantId, role]) => ({ tenantId, role })).sort(byTenant) };
    }),
  );
}

const byTenant = (a: { tenantId: string }, b: { tenantId: string }) => a.tenantId.localeCompare(b.tenantId);
