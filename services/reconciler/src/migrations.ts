import type { Migrations } from '@agentpod/kit';
import type { Kysely } from 'kysely';

/** Migrations of the `reconciler` schema, applied in name order. The kit adds its own bookkeeping tables first. */
export const migrations: Migrations = {
  '0001_desired_observed_history': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('desired_pods')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('desired', 'text', (c) => c.notNull())
        .addColumn('restart_policy', 'text', (c) => c.notNull())
        .addColumn('image', 'text', (c) => c.notNull())
        .addColumn('volume_name', 'text')
        .addColumn('restart_request', 'text')
        .addColumn('deleted', 'boolean', (c) => c.notNull())
        .addColumn('keep_volume', 'boolean', (c) => c.notNull())
        .addColumn('deletion_event', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('desired_pods_pk', ['tenant_id', 'pod_id'])
        .execute();
      await db.schema
        .createTable('observed_containers')
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('container_id', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('container', 'jsonb', (c) => c.notNull())
        .addColumn('observed_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('observed_containers_pk', ['node_id', 'container_id'])
        .execute();
      await db.schema
        .createIndex('observed_containers_by_pod')
        .on('observed_containers')
        .columns(['tenant_id', 'pod_id'])
        .execute();
      await db.schema
        .createTable('pod_history')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('last_action', 'text', (c) => c.notNull())
        .addColumn('last_generation', 'integer', (c) => c.notNull())
        .addColumn('last_ok', 'boolean', (c) => c.notNull())
        .addColumn('last_error', 'jsonb')
        .addColumn('last_at', 'timestamptz', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('restart_honoured', 'text')
        .addColumn('removal_done', 'text')
        .addPrimaryKeyConstraint('pod_history_pk', ['tenant_id', 'pod_id'])
        .execute();
    },
  },
};
