import type { TenantRole } from '@agentpod/contracts';
import type { ColumnType } from 'kysely';

/*
 * Tables of the `identity` schema (read models, rebuilt from the log). Times come from events' `occurredAt`,
 * never from now(), so a replay writes the same rows. No secret is stored; only hashes appear in link and
 * session aggregate ids.
 */

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

export interface UsersTable {
  id: string;
  email: string;
  platform_admin: boolean;
  disabled: boolean;
  created_at: Timestamp;
}

/** One row per issued sign-in link. (The per-address rate limit counts requests instead: ops/schema.ts.) */
export interface MagicLinksTable {
  /** The link aggregate id, `link-<sha256 of the token>`. */
  id: string;
  user_id: string;
  email: string;
  issued_at: Timestamp;
  expires_at: Timestamp;
  redeemed_at: NullableTimestamp;
  session_id: string | null;
}

export interface SessionsTable {
  id: string;
  /** The session aggregate id, `session-<sha256 of the token>`. */
  aggregate_id: string;
  user_id: string;
  started_at: Timestamp;
  expires_at: Timestamp;
  ended_at: NullableTimestamp;
  /** sign-out, expired, sign-out-everywhere or user-disabled. */
  end_reason: string | null;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  role: string;
  tenant_id: string | null;
  created_at: Timestamp;
  expires_at: NullableTimestamp;
  /** Set when revoked, or when its user was disabled (which voids the token for good). */
  revoked_at: NullableTimestamp;
}

/** Tenants that exist, projected from the TENANTS stream. */
export interface TenantsTable {
  id: string;
}

/** Who belongs to which tenant with which role, projected from the TENANTS stream (token rights, §9). */
export interface TenantMembersTable {
  tenant_id: string;
  user_id: string;
  role: TenantRole;
}

export interface IdentityDatabase {
  users: UsersTable;
  magic_links: MagicLinksTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  tenants: TenantsTable;
  tenant_members: TenantMembersTable;
}
