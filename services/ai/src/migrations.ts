import { createTenantMembershipTables, type Migrations } from '@agentpod/kit';
import type { Kysely } from 'kysely';

/** Migrations of the `ai` schema, applied in name order. The kit adds its own bookkeeping tables first. */
export const migrations: Migrations = {
  '0001_conversations': {
    async up(db: Kysely<unknown>) {
      await createTenantMembershipTables(db);
      await db.schema
        .createTable('conversations')
        .addColumn('conversation_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('title', 'jsonb', (c) => c.notNull())
        .addColumn('subject', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('conversations_by_owner')
        .on('conversations')
        .columns(['tenant_id', 'user_id', 'updated_at'])
        .execute();
      await db.schema
        .createTable('messages')
        .addColumn('message_id', 'text', (c) => c.primaryKey())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('content', 'jsonb', (c) => c.notNull())
        .addColumn('usage', 'jsonb', (c) => c.notNull())
        .addColumn('stopped', 'boolean', (c) => c.notNull())
        .addColumn('error', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('messages_by_conversation')
        .on('messages')
        .columns(['conversation_id', 'position'])
        .execute();
      await db.schema
        .createTable('usage')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('day', 'date', (c) => c.notNull())
        .addColumn('requests', 'integer', (c) => c.notNull())
        .addColumn('prompt_tokens', 'bigint', (c) => c.notNull())
        .addColumn('completion_tokens', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_pk', ['tenant_id', 'user_id', 'day'])
        .execute();
      await db.schema
        .createTable('diagnoses')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('alert_cause_event_id', 'text', (c) => c.notNull())
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('error', 'jsonb', (c) => c.notNull())
        .addColumn('commands', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('diagnoses_pk', ['tenant_id', 'pod_id', 'alert_cause_event_id'])
        .execute();
      await db.schema
        .createIndex('diagnoses_latest')
        .on('diagnoses')
        .columns(['tenant_id', 'pod_id', 'created_at'])
        .execute();
    },
  },
};
