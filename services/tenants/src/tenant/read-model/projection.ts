import type { EventEnvelope } from '@agentpod/contracts';
import type { Projection } from '@agentpod/kit';
import type { Transaction } from 'kysely';
import type { TenantsDb } from '../../db.ts';
import { type TenantEvent, tenantAggregate } from '../events.ts';

/** An envelope as a tenant event, or undefined for a type this version does not know (skipped, never rejected). */
function asTenantEvent(envelope: EventEnvelope): TenantEvent | undefined {
  const schema = tenantAggregate.events[envelope.type as keyof typeof tenantAggregate.events];
  const data = schema?.safeParse(envelope.data);
  return data?.success ? ({ ...envelope, data: data.data } as TenantEvent) : undefined;
}

async function applyOne(tx: Transaction<TenantsDb>, event: TenantEvent): Promise<void> {
  const tenantId = event.aggregateId;
  const at = event.occurredAt;
  switch (event.type) {
    case 'TenantCreated':
      await tx
        .insertInto('tenants')
        .values({ id: tenantId, name: event.data.name, status: 'active', created_at: at, updated_at: at })
        .onConflict((c) => c.column('id').doNothing())
        .execute();
      return;
    case 'TenantRenamed':
      await tx
        .updateTable('tenants')
        .set({ name: event.data.name, updated_at: at })
        .where('id', '=', tenantId)
        .execute();
      return;
    case 'TenantDeleted':
      await tx.updateTable('tenants').set({ status: 'deleted', updated_at: at }).where('id', '=', tenantId).execute();
      await tx.deleteFrom('members').where('tenant_id', '=', tenantId).execute();
      return;
    case 'MemberAdded': {
      const { userId, email, role } = event.data;
      await tx
        .insertInto('members')
        .values({ tenant_id: tenantId, user_id: userId, email, role, joined_at: at })
        .onConflict((c) => c.columns(['tenant_id', 'user_id']).doUpdateSet({ email, role, joined_at: at }))
        .execute();
      return;
    }
    case 'MemberRoleChanged':
      await tx
        .updateTable('members')
        .set({ role: event.data.role })
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', event.data.userId)
        .execute();
      return;
    case 'MemberRemoved':
      await tx
        .deleteFrom('members')
        .where('tenant_id', '=', tenantId)
        .where('user_id', '=', event.data.userId)
        .execute();
      return;
    case 'InvitationCreated': {
      const { invitationId, email, role, tokenHash, expiresAt } = event.data;
      await tx
        .insertInto('invitations')
        .values({
          id: invitationId,
          tenant_id: tenantId,
          email,
          role,
          token_hash: tokenHash,
          status: 'pending',
          created_at: at,
          expires_at: expiresAt,
          accepted_by: null,
          settled_at: null,
        })
        .onConflict((c) => c.column('id').doNothing())
        .execute();
      return;
    }
    case 'InvitationAccepted':
      await tx
        .updateTable('invitations')
        .set({ status: 'accepted', accepted_by: event.data.userId, settled_at: at })
        .where('id', '=', event.data.invitationId)
        .execute();
      return;
    case 'InvitationRevoked':
      await tx
        .updateTable('invitations')
        .set({ status: 'revoked', settled_at: at })
        .where('id', '=', event.data.invitationId)
        .where('status', '=', 'pending')
        .execute();
      return;
    default: {
      const unknown: never = event;
      throw new Error(`unhandled tenant event ${(unknown as TenantEvent).type}`);
    }
  }
}

/** Tenants, members and invitations, from the TENANTS stream. */
export const tenantsProjection: Projection<TenantsDb> = {
  name: 'tenants',
  context: 'tenants',
  async apply(tx, events) {
    for (const { envelope } of events) {
      const event = asTenantEvent(envelope);
      if (event) await applyOne(tx, event);
    }
  },
};
