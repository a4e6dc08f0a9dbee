import { effectiveRole, type Principal, streamName, TenantRole, tenantEvents } from '@agentpod/contracts';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Kysely, Transaction } from 'kysely';
import type { Projection } from './projection.ts';
import { eventsOf } from './projection-events.ts';

/** The two tables a service keeps its own copy of tenant memberships in (created by its own migration). */
export type TenantMembershipTables = {
  tenants: { id: string };
  tenant_members: { tenant_id: string; user_id: string; role: TenantRole };
};

/** Creates the two tables in a service's migration: the shape `tenantMembershipProjection` writes. */
export async function createTenantMembershipTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tenants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .execute();
  await db.schema
    .createTable('tenant_members')
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tenant_members_pk', ['tenant_id', 'user_id'])
    .execute();
}

const schemas = {
  TenantCreated: tenantEvents.TenantCreated,
  TenantDeleted: tenantEvents.TenantDeleted,
  MemberAdded: tenantEvents.MemberAdded,
  MemberRoleChanged: tenantEvents.MemberRoleChanged,
  MemberRemoved: tenantEvents.MemberRemoved,
};

/**
 * `tenants` and `tenant_members`: a service's own copy of who holds which role where, from the TENANTS stream, so
 * it authorises from its own data (services never read each other's tables). Membership comes only from the
 * Member* events (a tenant's creator joins by a MemberAdded after TenantCreated), and TenantDeleted ends them all.
 * An event belongs to the tenant in its envelope's `tenantId`, else its aggregate.
 */
export function tenantMembershipProjection<DB extends TenantMembershipTables>(): Projection<DB> {
  return {
    name: 'tenant_members',
    context: 'tenants',
    async apply(transaction, stored) {
      // The service's database holds these two tables among others; only they are touched here.
      const tx = transaction as unknown as Transaction<TenantMembershipTables>;
      for (const event of eventsOf(schemas, stored)) {
        const tenantId = event.tenantId ?? event.aggregateId;
        switch (event.type) {
          case 'TenantCreated':
            await tx
              .insertInto('tenants')
              .values({ id: event.data.tenantId })
              .onConflict((c) => c.column('id').doNothing())
              .execute();
            break;
          case 'TenantDeleted':
            await tx.deleteFrom('tenant_members').where('tenant_id', '=', tenantId).execute();
            await tx.deleteFrom('tenants').where('id', '=', tenantId).execute();
            break;
          case 'MemberAdded':
          case 'MemberRoleChanged':
            await tx
              .insertInto('tenant_members')
              .values({ tenant_id: tenantId, user_id: event.data.userId, role: event.data.role })
              .onConflict((c) => c.columns(['tenant_id', 'user_id']).doUpdateSet({ role: event.data.role }))
              .execute();
            break;
          case 'MemberRemoved':
            await tx
              .deleteFrom('tenant_members')
              .where('tenant_id', '=', tenantId)
              .where('user_id', '=', event.data.userId)
              .execute();
            break;
          default: {
            const unknown: never = event;
            throw new Error(`unhandled membership event ${(unknown as { type: string }).type}`);
          }
        }
      }
    },
  };
}

/**
 * Waits until the service's copy of memberships has applied everything TENANTS holds right now: a member removed a
 * moment ago has lost access on the next request, on every replica. (`runtime`: the service's runtime.)
 */
export async function freshMemberships(runtime: {
  jsm: JetStreamManager;
  caughtUp: (context: 'tenants', seq: number) => Promise<void>;
}): Promise<void> {
  const info = await runtime.jsm.streams.info(streamName('tenants'));
  await runtime.caughtUp('tenants', info.state.last_seq);
}

/**
 * The caller's effective role in `tenantId` from the service's copy (a platform admin counts as owner), or undefined
 * without access or without such a tenant.
 */
export async function tenantRoleOf<DB extends TenantMembershipTables>(
  db: Kysely<DB>,
  principal: Principal,
  tenantId: string,
): Promise<TenantRole | undefined> {
  const row = await (db as unknown as Kysely<TenantMembershipTables>)
    .selectFrom('tenants')
    .leftJoin('tenant_members', (join) =>
      join.onRef('tenant_members.tenant_id', '=', 'tenants.id').on('tenant_members.user_id', '=', principal.userId),
    )
    .select(['tenants.id', 'tenant_members.role'])
    .where('tenants.id', '=', tenantId)
    .executeTakeFirst();
  if (!row) return undefined;
  return effectiveRole(principal, tenantId, row.role ? TenantRole.parse(row.role) : undefined);
}
