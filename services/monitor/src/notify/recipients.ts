import type { EmailAudience } from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { MonitorDb } from '../db.ts';

/*
 * Who an alert email goes to, looked up when it is sent (so a member who left is not emailed, one who joined is):
 * the rule's own addresses; or the tenant's owners and admins; or the platform admins. Disabled users never.
 * Addresses come from the monitor's own copies of IDENTITY (users) and TENANTS (tenant_members).
 */
export async function recipientsOf(
  db: Kysely<MonitorDb>,
  delivery: { audience: EmailAudience; addresses: string[]; tenantId: string | null },
): Promise<string[]> {
  switch (delivery.audience) {
    case 'rule':
      return [...new Set(delivery.addresses)];
    case 'tenant-admins': {
      if (delivery.tenantId === null) return [];
      const rows = await db
        .selectFrom('tenant_members')
        .innerJoin('users', 'users.user_id', 'tenant_members.user_id')
        .select('users.email')
        .where('tenant_members.tenant_id', '=', delivery.tenantId)
        .where('tenant_members.role', 'in', ['owner', 'admin'])
        .where('users.disabled', '=', false)
        .orderBy('users.email')
        .execute();
      return [...new Set(rows.map((row) => row.email))];
    }
    case 'platform-admins': {
      const rows = await db
        .selectFrom('users')
        .select('email')
        .where('platform_admin', '=', true)
        .where('disabled', '=', false)
        .orderBy('email')
        .execute();
      return [...new Set(rows.map((row) => row.email))];
    }
    default: {
      const unknown: never = delivery.audience;
      throw new Error(`unhandled audience ${String(unknown)}`);
    }
  }
}
