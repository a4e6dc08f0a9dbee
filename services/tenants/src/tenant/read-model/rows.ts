import type { InvitationView, MemberView, TenantRole } from '@agentpod/contracts';
import type { Selectable } from 'kysely';
import type { InvitationsTable, MembersTable } from '../../db.ts';

/* Rows of the read model mapped to the contracts' views: snake_case and Dates stay here. */

export const iso = (value: Date): string => value.toISOString();

export const memberFromRow = (row: Selectable<MembersTable>): MemberView => ({
  userId: row.user_id,
  email: row.email,
  role: row.role as TenantRole,
  joinedAt: iso(row.joined_at),
});

export function invitationFromRow(row: Selectable<InvitationsTable>, now: Date): InvitationView {
  const expired = row.status === 'pending' && row.expires_at.getTime() <= now.getTime();
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    createdAt: iso(row.created_at),
    expiresAt: iso(row.expires_at),
    status: expired ? 'expired' : row.status,
  };
}
