import { type Kysely, sql } from 'kysely';

/*
 * Migration 0003_alert_rules of the `monitor` schema (listed in ../migrations.ts): alert rules and their silences,
 * acknowledgement / silence / notification columns on alerts, the notices that count against a tenant's hourly
 * cap, the email outbox and its attempts, and two copies of other contexts' facts the rules need (users' email
 * addresses from IDENTITY, pod recoveries from RECONCILER). All are read models, rebuilt by a replay.
 */
export const alertRulesMigration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('alerts')
      .addColumn('rule_id', 'text', (c) => c.notNull().defaultTo('rul_builtin-pod-failing'))
      .addColumn('acknowledged_by', 'text')
      .addColumn('acknowledged_at', 'timestamptz')
      .addColumn('silenced_until', 'timestamptz')
      .addColumn('notifications', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_notified_at', 'timestamptz')
      .execute();
    // The evaluator's question every tick: which alerts fire now?
    await db.schema
      .createIndex('alerts_firing')
      .on('alerts')
      .columns(['rule_id', 'series'])
      .where(sql.ref('state'), '=', 'firing')
      .execute();

    await db.schema
      .createTable('alert_rules')
      .addColumn('rule_id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('definition', 'jsonb', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      // Kept after removal: a removed rule's alerts still name it in their last notifications.
      .addColumn('removed_at', 'timestamptz')
      .execute();
    await db.schema
      .createIndex('alert_rules_by_tenant')
      .on('alert_rules')
      .columns(['tenant_id', 'created_at'])
      .execute();
    await db.schema
      .createTable('rule_silences')
      .addColumn('rule_id', 'text', (c) => c.notNull())
      // `*` for the whole rule, else the target key.
      .addColumn('target_key', 'text', (c) => c.notNull())
      .addColumn('target', 'jsonb')
      .addColumn('until', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('rule_silences_pk', ['rule_id', 'target_key'])
      .execute();

    await db.schema
      .createTable('alert_notices')
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('alert_id', 'text', (c) => c.notNull())
      // The tenant, or `-` for platform alerts: what the hourly cap counts by.
      .addColumn('tenant_key', 'text', (c) => c.notNull())
      .addColumn('at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('alert_notices_by_tenant').on('alert_notices').columns(['tenant_key', 'at']).execute();

    await db.schema
      .createTable('email_deliveries')
      .addColumn('delivery_id', 'text', (c) => c.primaryKey())
      .addColumn('alert_id', 'text', (c) => c.notNull())
      .addColumn('tenant_id', 'text')
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('reminder', 'integer', (c) => c.notNull())
      .addColumn('audience', 'text', (c) => c.notNull())
      // The rule's own addresses (audience `rule`); others are looked up when sending.
      .addColumn('addresses', 'jsonb', (c) => c.notNull())
      // What the email tells ({ alert, rule, type, reminder }), fixed when the delivery is made.
      .addColumn('payload', 'jsonb', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('email_deliveries_by_alert')
      .on('email_deliveries')
      .columns(['alert_id', 'created_at'])
      .execute();
    await db.schema
      .createIndex('email_deliveries_due')
      .on('email_deliveries')
      .column('next_attempt_at')
      .where(sql.ref('status'), '=', 'pending')
      .execute();
    await db.schema
      .createTable('email_attempts')
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('at', 'timestamptz', (c) => c.notNull())
      .addColumn('recipients', 'integer', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('email_attempts_pk', ['delivery_id', 'attempt'])
      .execute();

    await db.schema
      .createTable('users')
      .addColumn('user_id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('platform_admin', 'boolean', (c) => c.notNull())
      .addColumn('disabled', 'boolean', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('pod_recoveries')
      .addColumn('event_id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('pod_id', 'text', (c) => c.notNull())
      .addColumn('at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('pod_recoveries_by_pod')
      .on('pod_recoveries')
      .columns(['tenant_id', 'pod_id', 'at'])
      .execute();
  },
};
