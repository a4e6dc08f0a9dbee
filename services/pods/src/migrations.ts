import type { Migrations } from '@agentpod/kit';
import type { Kysely } from 'kysely';

/** Migrations of the `pods` schema, applied in name order. The kit adds its own bookkeeping tables first. */
export const migrations: Migrations = {
  /*
   * The pods read model, reduced to what other services already ask of it (how many pods a tenant has). The
   * pods issue adds the rest of a pod's columns and the projection that fills it; until then it stays empty.
   */
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
};
