import { streamName, TenantRole } from '@agentpod/contracts';
import type { IdentityRuntime } from '../deps.ts';

/**
 * The user's role in a tenant and whether the tenant exists, after the membership projection has applied
 * everything the TENANTS stream holds right now: a demotion stored a moment ago is seen.
 */
export async function freshMembership(
  runtime: IdentityRuntime,
  tenantId: string,
  userId: string,
): Promise<{ tenantExists: boolean; role: TenantRole | undefined }> {
  const info = await runtime.jsm.streams.info(streamName('tenants'));
  await runtime.caughtUp('tenants', info.state.last_seq);
  const tenant = await runtime.db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
  const member = await runtime.db
    .selectFrom('tenant_members')
    .select('role')
    .where('tenant_id', '=', tenantId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return { tenantExists: tenant !== undefined, role: member ? TenantRole.parse(member.role) : undefined };
}
