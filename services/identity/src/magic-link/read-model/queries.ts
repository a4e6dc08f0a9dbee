import type { Kysely } from 'kysely';
import type { IdentityDatabase } from '../../db.ts';

/** When the links to this address issued after `since` were issued. */
export async function linkIssueTimes(db: Kysely<IdentityDatabase>, email: string, since: Date): Promise<Date[]> {
  const rows = await db
    .selectFrom('magic_links')
    .select('issued_at')
    .where('email', '=', email)
    .where('issued_at', '>', since)
    .execute();
  return rows.map((row) => row.issued_at);
}
