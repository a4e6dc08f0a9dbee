import { type Kysely, sql } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import type { Sql } from './connections.ts';

export type Migrations = Record<string, Migration>;

/** A schema name the kit will interpolate into DDL: lower-case identifier, nothing else. */
export function assertSchemaName(schema: string): string {
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(schema))
    throw new Error(`schema name "${schema}" must match ^[a-z][a-z0-9_]{0,62}$`);
  return schema;
}

/** Tables every service schema has: projection checkpoints and events a projection could not decode. */
const kitMigration: Migration = {
  async up(db) {
    await db.schema
      .createTable('_checkpoints')
      .addColumn('projection', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema
      .createTable('_dead_letters')
      .addColumn('projection', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('error', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('_dead_letters_pk', ['projection', 'seq'])
      .execute();
  },
};

/**
 * Creates `schema` if needed and brings it to the latest migration. `db` must resolve unqualified names to
 * `schema` (see connectPostgres' `schema` option), so migrations create their tables there.
 * Concurrent starts of one service are serialised by an advisory lock.
 */
export async function migrateSchema(options: {
  sql: Sql;
  db: Kysely<unknown>;
  schema: string;
  migrations: Migrations;
}): Promise<string[]> {
  const schema = assertSchemaName(options.schema);
  const reserved = await options.sql.reserve();
  try {
    await reserved`select pg_advisory_lock(hashtext(${`agentpod.migrate.${schema}`}))`;
    await reserved.unsafe(`create schema if not exists "${schema}"`);
    const migrator = new Migrator({
      db: options.db,
      migrationTableSchema: schema,
      provider: { getMigrations: async () => ({ '0000_agentpod_kit': kitMigration, ...options.migrations }) },
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`migration ${failed} of schema ${schema} failed: ${(error as Error).message}`, { cause: error });
    }
    return (results ?? []).map((r) => r.migrationName);
  } finally {
    await reserved`select pg_advisory_unlock(hashtext(${`agentpod.migrate.${schema}`}))`.catch(() => {});
    reserved.release();
  }
}
