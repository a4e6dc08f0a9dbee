import { createTenantMembershipTables, type Migrations } from '@agentpod/kit';
import { type Kysely, sql } from 'kysely';
import { createMetricsTables } from './metrics/schema.ts';
import { alertRulesMigration } from './rules/migration.ts';

/** Migrations of the `monitor` schema, applied in name order. The kit adds its own bookkeeping tables first. */
export const migrations: Migrations = {
  '0001_alerts_webhooks': {
    async up(db: Kysely<unknown>) {
      await createTenantMembershipTables(db);
      await db.schema
        .createTable('alerts')
        .addColumn('alert_id', 'text', (c) => c.primaryKey())
        .addColumn('series', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('target', 'jsonb', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('details', 'jsonb', (c) => c.notNull())
        .addColumn('fired_at', 'timestamptz', (c) => c.notNull())
        .addColumn('resolved_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('alerts_by_tenant').on('alerts').columns(['tenant_id', 'fired_at']).execute();
      await db.schema
        .createTable('webhooks')
        .addColumn('webhook_id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('url', 'jsonb', (c) => c.notNull())
        .addColumn('url_origin', 'text', (c) => c.notNull())
        .addColumn('events', 'jsonb', (c) => c.notNull())
        .addColumn('secret', 'jsonb', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_by_tenant').on('webhooks').column('tenant_id').execute();
      await db.schema
        .createTable('deliveries')
        .addColumn('delivery_id', 'text', (c) => c.primaryKey())
        .addColumn('webhook_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('alert_id', 'text')
        .addColumn('payload', 'jsonb', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'timestamptz')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('deliveries_by_webhook')
        .on('deliveries')
        .columns(['webhook_id', 'created_at'])
        .execute();
      // The sender's question, "what is due?", reads only the few pending rows.
      await db.schema
        .createIndex('deliveries_due')
        .on('deliveries')
        .column('next_attempt_at')
        .where(sql.ref('status'), '=', 'pending')
        .execute();
      await db.schema
        .createTable('delivery_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('at', 'timestamptz', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('error', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('delivery_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
    },
  },
  // Metric samples and roll-ups: not read models (see metrics/schema.ts); a replay keeps their rows.
  '0002_metrics': { up: createMetricsTables },
  // Alert rules, acknowledgements and silences, the email outbox (see rules/migration.ts).
  '0003_alert_rules': alertRulesMigration,
};
