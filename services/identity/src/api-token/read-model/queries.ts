import { type ApiTokenView, TokenRole } from '@agentpod/contracts';
import type { Kysely } from 'kysely';
import type { IdentityDatabase } from '../../db.ts';
import { iso, isoOrNull } from '../../read-model.ts';

/** Tokens newest first: one user's, or every user's when `userId` is undefined. */
export async function listTokens(db: Kysely<IdentityDatabase>, userId: string | undefined): Promise<ApiTokenView[]> {
  let query = db.selectFrom('api_tokens').selectAll();
  if (userId !== undefined) query = query.where('user_id', '=', userId);
  const rows = await query.orderBy('created_at', 'desc').orderBy('id').execute();
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    role: TokenRole.parse(row.role),
    tenantId: row.tenant_id,
    userId: row.user_id,
    createdAt: iso(row.created_at),
    expiresAt: isoOrNull(row.expires_at),
    revoked: row.revoked_at !== null,
  }));
}
