import { tenantEvents } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { PodsDb } from '../db.ts';
import { eventsOf } from '../events-of.ts';
import { unreachable } from '../never.ts';

const schemas = {
  TenantCreated: tenantEvents.TenantCreated,
  TenantDeleted: tenantEvents.TenantDeleted,
  MemberAdded: tenantEvents.MemberAdded,
  MemberRoleChanged: tenantEvents.MemberRoleChanged,
  MemberRemoved: tenantEvents.MemberRemoved,
};

/**
 * `tenants` and `tenant_members`: this service's own copy of who holds which role where, from TENANTS, so a query
 * is authorised without a round trip to the tenants service. As the tenants contract states, membership comes
 * only from the Member* events and TenantDeleted ends them all. An event belongs to the tenant in its envelope's
 * `tenantId`, else its aggregate.
 */
export const membershipProjection: Projection<PodsDb> = {
  name: 'tenant_members',
  context: 'tenants',
  async apply(tx, stored) {
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
        default:
          unreachable(event);
      }
    }
  },
};
