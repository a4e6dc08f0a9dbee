import { streamName } from '@agentpod/contracts';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connectPostgres, type Sql } from './connections.ts';
import type { Logger } from './logger.ts';
import { assertSchemaName, type Migrations, migrateSchema } from './migrations.ts';
import { applyBatch, consumeInBatches, type Projection, projectionFilter } from './projection.ts';

export type TableComparison = { table: string; live: number; rebuilt: number; onlyLive: number; onlyRebuilt: number };

export type ReplayReport = {
  schema: string;
  /** Events applied to the rebuilt read model (dead letters excluded). */
  events: number;
  durationMs: number;
  /** Table by table, when the rebuilt schema was compared with the live one. */
  comparison?: TableComparison[];
  /** True when every compared table holds exactly the same rows. */
  identical?: boolean;
  swapped: boolean;
};

/** Tables that are bookkeeping, not read models: they legitimately differ between a live and a rebuilt schema. */
const BOOKKEEPING = new Set(['_checkpoints', '_dead_letters', 'kysely_migration', 'kysely_migration_lock']);

/**
 * Rebuilds a service's read models from sequence 1 of their streams into a shadow schema, optionally compares
 * it row by row with the live schema, and optionally swaps it in. Run it with the live projectors stopped when
 * swapping. Every read-model table must be comparable with EXCEPT (use jsonb, not json).
 */
export async function replaySchema<DB>(options: {
  databaseUrl: string;
  schema: string;
  migrations: Migrations;
  /** Tables that are not rebuilt from the log: not compared; on swap, the live rows move to the rebuilt schema. */
  keep?: readonly string[];
  projections: readonly Projection<DB>[];
  js: JetStreamClient;
  jsm: JetStreamManager;
  logger: Logger;
  compare?: boolean;
  swap?: boolean;
  batchSize?: number;
}): Promise<ReplayReport> {
  const started = performance.now();
  const live = assertSchemaName(options.schema);
  const shadow = assertSchemaName(`${live.slice(0, 50)}__replay`);
  const { sql, db } = await connectPostgres<DB>({
    url: options.databaseUrl,
    logger: options.logger,
    schema: shadow,
    maxConnections: 2,
    name: `agentpod-replay-${live}`,
    attempts: 3,
  });
  try {
    await sql.unsafe(`drop schema if exists "${shadow}" cascade`);
    await migrateSchema({ sql, db: db as never, schema: shadow, migrations: options.migrations });
    let events = 0;
    for (const projection of options.projections) {
      events += await replayProjection(options, projection, db);
    }
    const keep = options.keep ?? [];
    const comparison = options.compare ? await compareSchemas(sql, live, shadow, keep) : undefined;
    const identical = comparison?.every((t) => t.onlyLive === 0 && t.onlyRebuilt === 0);
    if (options.swap) {
      await sql.begin(async (tx) => {
        // The rebuilt schema's empty copy makes way for the live table itself (rows, indexes and all).
        for (const table of keep) {
          await tx.unsafe(`drop table if exists "${shadow}"."${table}" cascade`);
          await tx.unsafe(`alter table "${live}"."${table}" set schema "${shadow}"`);
        }
        await tx.unsafe(`drop schema if exists "${live}" cascade`);
        await tx.unsafe(`alter schema "${shadow}" rename to "${live}"`);
      });
    } else {
      await sql.unsafe(`drop schema if exists "${shadow}" cascade`);
    }
    return {
      schema: live,
      events,
      durationMs: Math.round(performance.now() - started),
      ...(comparison ? { comparison, identical } : {}),
      swapped: options.swap === true,
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function replayProjection<DB>(
  options: { js: JetStreamClient; logger: Logger; batchSize?: number },
  projection: Projection<DB>,
  db: Parameters<typeof applyBatch<DB>>[0],
): Promise<number> {
  const consumer = await options.js.consumers.get(streamName(projection.context), {
    filter_subjects: projectionFilter(projection),
    deliver_policy: DeliverPolicy.All,
  });
  const info = await consumer.info();
  if (info.num_pending === 0) return 0;
  let applied = 0;
  const messages = await consumer.consume({ max_messages: (options.batchSize ?? 1_000) * 2 });
  try {
    await consumeInBatches({
      messages,
      batchSize: options.batchSize ?? 1_000,
      logger: options.logger,
      signal: new AbortController().signal,
      stopWhenCaughtUp: true,
      flush: async ({ messages: batch }) => {
        applied += await applyBatch(db, projection, batch);
      },
    });
  } finally {
    await messages.close();
  }
  return applied;
}

/** Row-by-row comparison of every read-model table of two schemas built by the same migrations. */
export async function compareSchemas(
  sql: Sql,
  live: string,
  rebuilt: string,
  skip: readonly string[] = [],
): Promise<TableComparison[]> {
  const tables = await sql<{ table_name: string }[]>`
    select table_name from information_schema.tables
    where table_schema = ${rebuilt} and table_type = 'BASE TABLE' order by table_name`;
  const result: TableComparison[] = [];
  for (const { table_name: table } of tables) {
    if (BOOKKEEPING.has(table) || skip.includes(table)) continue;
    const a = `"${live}"."${table}"`;
    const b = `"${rebuilt}"."${table}"`;
    const [row] = await sql.unsafe<{ live: number; rebuilt: number; only_live: number; only_rebuilt: number }[]>(`
      select (select count(*) from ${a})::int as live,
             (select count(*) from ${b})::int as rebuilt,
             (select count(*) from (select * from ${a} except all select * from ${b}) x)::int as only_live,
             (select count(*) from (select * from ${b} except all select * from ${a}) y)::int as only_rebuilt`);
    result.push({
      table,
      live: row?.live ?? 0,
      rebuilt: row?.rebuilt ?? 0,
      onlyLive: row?.only_live ?? 0,
      onlyRebuilt: row?.only_rebuilt ?? 0,
    });
  }
  return result;
}
