import type { UserView } from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { IdentityDatabase } from '../../db.ts';
import { iso } from '../../read-model.ts';

export async function listUsers(db: Kysely<IdentityDatabase>): Promise<UserView[]> {
  const rows = await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map((row) => ({
    id: row.id,
    email: row.email,
    platformAdmin: row.platform_admin,
    disabled: row.disabled,
    createdAt: iso(row.created_at),
  }));
}
