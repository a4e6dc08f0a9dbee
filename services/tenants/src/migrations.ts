import type { Migrations } from '@agentpod/kit';
import { type Kysely, sql } from 'kysely';

/** Migrations of the `tenants` schema, applied in name order. The kit adds its own bookkeeping tables first. */
export const migrations: Migrations = {
  '0001_tenants_members_invitations': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('members')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('members_pk', ['tenant_id', 'user_id'])
        .execute();
      await db.schema.createIndex('members_by_user').on('members').columns(['user_id', 'tenant_id']).execute();
      await db.schema
        .createTable('invitations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('accepted_by', 'text')
        .addColumn('settled_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('invitations_by_tenant')
        .on('invitations')
        .columns(['tenant_id', 'created_at'])
        .execute();
    },
  },
  '0002_audit_entries': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('audit_entries')
        .addColumn('event_id', 'uuid', (c) => c.primaryKey())
        .addColumn('context', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('aggregate_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('actor_kind', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text', (c) => c.notNull())
        .addColumn('correlation_id', 'text', (c) => c.notNull())
        .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
        .addColumn('data', 'jsonb', (c) => c.notNull())
        .execute();
      // Newest first, with the event id (UUIDv7) breaking ties between events of one decision: a stable order.
      await db.schema
        .createIndex('audit_newest_first')
        .on('audit_entries')
        .expression(sql`occurred_at desc, event_id desc`)
        .execute();
      await db.schema
        .createIndex('audit_by_tenant')
        .on('audit_entries')
        .expression(sql`tenant_id, occurred_at desc, event_id desc`)
        .execute();
      await db.schema
        .createIndex('audit_by_actor')
        .on('audit_entries')
        .expression(sql`actor_id, occurred_at desc, event_id desc`)
        .execute();
    },
  },
  /** The user behind a token actor, so `audit --actor usr_…` finds what they did through API tokens too. */
  '0003_audit_actor_user': {
    async up(db) {
      await db.schema.alterTable('audit_entries').addColumn('actor_user', 'text').execute();
      await db.schema
        .createIndex('audit_entries_by_actor_user')
        .on('audit_entries')
        .expression(sql`actor_user, occurred_at desc, event_id desc`)
        .execute();
    },
  },
};
