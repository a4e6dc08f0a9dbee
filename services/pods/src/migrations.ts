import { createTenantMembershipTables, type Migrations } from '@agentpod/kit';
import type { Kysely } from 'kysely';

/** Migrations of the `pods` schema, applied in name order. The kit adds its own bookkeeping tables first. */
export const migrations: Migrations = {
  /* The first read model only counted pods per tenant; 0002 replaces it (every table is rebuilt from the log). */
  '0001_pods': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('pods')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pods_by_tenant').on('pods').column('tenant_id').execute();
    },
  },
  '0002_registry': {
    async up(db: Kysely<unknown>) {
      await db.schema.dropTable('pods').execute();
      await db.schema
        .createTable('nodes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('removed_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('nodes_by_name').on('nodes').column('name').execute();
      await db.schema
        .createTable('placements')
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('ports', 'jsonb', (c) => c.notNull())
        .addColumn('memory_bytes', 'bigint', (c) => c.notNull())
        .addColumn('cpus', 'double precision', (c) => c.notNull())
        .addColumn('placed_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('placements_pk', ['node_id', 'tenant_id', 'pod_id'])
        .execute();
      await db.schema.createIndex('placements_by_pod').on('placements').columns(['tenant_id', 'pod_id']).execute();
      await db.schema
        .createTable('node_agents')
        .addColumn('node_id', 'text', (c) => c.primaryKey())
        .addColumn('facts', 'jsonb')
        .addColumn('connected_at', 'timestamptz')
        .addColumn('disconnected_at', 'timestamptz')
        .addColumn('disconnect_reason', 'text')
        .execute();
      await db.schema
        .createTable('pods')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('desired', 'text', (c) => c.notNull())
        .addColumn('spec', 'jsonb', (c) => c.notNull())
        .addColumn('ports', 'jsonb', (c) => c.notNull())
        .addColumn('volume_name', 'text')
        .addColumn('restart_id', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('deleted_at', 'timestamptz')
        .addColumn('keep_volume', 'boolean', (c) => c.notNull())
        .addPrimaryKeyConstraint('pods_pk', ['tenant_id', 'pod_id'])
        .execute();
      await db.schema.createIndex('pods_by_node').on('pods').column('node_id').execute();
      await db.schema
        .createTable('containers')
        .addColumn('container_id', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('observed', 'jsonb', (c) => c.notNull())
        .addColumn('restarts', 'integer', (c) => c.notNull())
        .addColumn('died', 'boolean', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('containers_by_pod').on('containers').columns(['tenant_id', 'pod_id']).execute();
      await db.schema.createIndex('containers_by_node').on('containers').column('node_id').execute();
      await db.schema
        .createTable('pod_actions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('ok', 'boolean', (c) => c.notNull())
        .addColumn('error', 'jsonb')
        .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('pod_actions_pk', ['tenant_id', 'pod_id'])
        .execute();
      await createTenantMembershipTables(db);
    },
  },
  '0003_container_health': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('container_health')
        .addColumn('container_id', 'text', (c) => c.primaryKey())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('changed_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('container_health_by_node').on('container_health').column('node_id').execute();
    },
  },
  /* Issue 5: recoveries and failing pods (RECONCILER), the generation a pod began with, rollouts. */
  '0004_recovery_and_rollouts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('pods')
        .addColumn('first_generation', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .createTable('pod_recoveries')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('recoveries', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('pod_recoveries_pk', ['tenant_id', 'pod_id', 'generation'])
        .execute();
      await db.schema
        .createTable('pod_failing')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('since', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('pod_failing_pk', ['tenant_id', 'pod_id'])
        .execute();
      await db.schema
        .createTable('rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('state', 'jsonb', (c) => c.notNull())
        .addColumn('started_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rollouts_by_status').on('rollouts').column('status').execute();
      await db.schema.createIndex('rollouts_by_tenant').on('rollouts').column('tenant_id').execute();
    },
  },
};
