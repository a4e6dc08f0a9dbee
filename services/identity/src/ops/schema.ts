import { type Migrations, migrateSchema } from '@agentpod/kit';
import type { ColumnType, Kysely } from 'kysely';
import type { IdentityRuntime } from '../deps.ts';

/*
 * Operational state of the identity service: short-lived counters that are not facts (so not events) and not
 * derived from the log (so not read models). They live in their own schema, `identity_ops`, so that the kit's
 * replay, which rebuilds, compares and swaps only the `identity` schema, neither reports them as a difference nor
 * drops them. Everything here may be lost at any time (truncated, or the schema dropped and migrated again);
 * the worst outcome is that a rate limit starts counting afresh.
 */

export const OPS_SCHEMA = 'identity_ops';

type Timestamp = ColumnType<Date, Date | string, Date | string>;

/**
 * One row per sign-in link request admitted by the per-address limit, whether or not the address has an
 * account, so the limit answers the same for both. Rows older than the limit's window are pruned.
 */
export interface SignInRequestsTable {
  /** SHA-256 hex of the normalised address: the address itself is never stored here. */
  email_hash: string;
  /** The service clock's time of the request. */
  requested_at: Timestamp;
}

export interface OpsDatabase {
  sign_in_requests: SignInRequestsTable;
}

export const opsMigrations: Migrations = {
  '0001_sign_in_requests': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sign_in_requests')
        .addColumn('email_hash', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sign_in_requests_hash_time')
        .on('sign_in_requests')
        .columns(['email_hash', 'requested_at'])
        .execute();
      await db.schema.createIndex('sign_in_requests_time').on('sign_in_requests').column('requested_at').execute();
    },
  },
};

/**
 * The operational schema on the service's own pool: every table reference is qualified with `identity_ops`
 * (the pool's search_path points at `identity`). The cast only renames the table map; the connection is the same.
 */
export const opsDb = (runtime: IdentityRuntime): Kysely<OpsDatabase> =>
  runtime.db.withSchema(OPS_SCHEMA) as unknown as Kysely<OpsDatabase>;

/** Creates `identity_ops` if needed and migrates it, under the kit's advisory lock (replicas may start together). */
export async function migrateOps(runtime: IdentityRuntime): Promise<void> {
  const applied = await migrateSchema({
    sql: runtime.sql,
    db: opsDb(runtime) as unknown as Kysely<unknown>,
    schema: OPS_SCHEMA,
    migrations: opsMigrations,
  });
  if (applied.length > 0) runtime.logger.info({ schema: OPS_SCHEMA, applied }, 'migrated schema');
}
