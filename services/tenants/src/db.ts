import type { ColumnType, RawBuilder } from 'kysely';

/** A timestamptz column: read as a Date, written as an ISO string (always an event's `occurredAt`). */
type Timestamp = ColumnType<Date, string, string>;

/*
 * The `tenants` schema (kysely types). Every table is a read model rebuilt from the log; columns are comparable
 * with EXCEPT (jsonb, not json) so a replay can be checked row by row.
 */

export type TenantsTable = {
  id: string;
  name: string;
  status: 'active' | 'deleted';
  created_at: Timestamp;
  updated_at: Timestamp;
};

export type MembersTable = {
  tenant_id: string;
  user_id: string;
  email: string;
  role: 'viewer' | 'member' | 'admin' | 'owner';
  joined_at: Timestamp;
};

export type InvitationsTable = {
  id: string;
  tenant_id: string;
  email: string;
  role: 'viewer' | 'member' | 'admin' | 'owner';
  /** SHA-256 (hex) of the token: the only way to find an invitation from a link. */
  token_hash: string;
  /** `expired` is not stored: it is `pending` past `expires_at`, decided when read. */
  status: 'pending' | 'accepted' | 'revoked';
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_by: string | null;
  settled_at: Timestamp | null;
};

export type AuditEntriesTable = {
  event_id: string;
  context: string;
  type: string;
  aggregate_id: string;
  tenant_id: string | null;
  actor_kind: string;
  actor_id: string;
  /** The user behind the actor: the actor itself for a user, the token's holder for a token. */
  actor_user: string | null;
  correlation_id: string;
  occurred_at: Timestamp;
  /** The event's data with every `…Hash` field left out, as jsonb. */
  data: ColumnType<unknown, RawBuilder<unknown>, RawBuilder<unknown>>;
};

export type TenantsDb = {
  tenants: TenantsTable;
  members: MembersTable;
  invitations: InvitationsTable;
  audit_entries: AuditEntriesTable;
};
