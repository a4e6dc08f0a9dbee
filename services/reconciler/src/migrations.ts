import type { Migrations } from '@agentpod/kit';
import { type Kysely, sql } from 'kysely';

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
  /** Issue 5: run times and probe verdicts of containers; the crash streak and the failing mark of pods. */
  '0002_runs_health_streaks': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('observed_containers')
        .addColumn('started_at', 'timestamptz')
        .addColumn('finished_at', 'timestamptz')
        .addColumn('health', 'text')
        .addColumn('health_error', 'text')
        .execute();
      // Rows from before: their run times and verdict are in the stored container already.
      await sql`update observed_containers set
          started_at = (container->>'startedAt')::timestamptz,
          finished_at = (container->>'finishedAt')::timestamptz,
          health = container->>'health'`.execute(db);
      for (const column of ['last_action', 'last_generation', 'last_ok', 'last_at'])
        await db.schema
          .alterTable('pod_history')
          .alterColumn(column, (c) => c.dropNotNull())
          .execute();
      await db.schema
        .alterTable('pod_history')
        .addColumn('last_recovery', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('recovery_reason', 'text')
        .addColumn('recovery_attempt', 'integer')
        .addColumn('recovery_at', 'timestamptz')
        .addColumn('failing_generation', 'integer')
        .addColumn('failing_since', 'timestamptz')
        .execute();
    },
  },
};
