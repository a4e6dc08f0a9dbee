import { type Kysely, sql } from 'kysely';

/*
 * The metrics tables of the `monitor` schema. Samples are measurements, not events: nothing here is rebuilt from
 * the log, so a replay carries these tables over as they are (`METRICS_TABLES`, the service's `database.keep`).
 *
 *   agent.*.metrics ─► ingester ─► node_samples / pod_samples (raw, 24 h) + metrics_dirty_minutes
 *                                        │ roll-up (leader, every minute): dirty, completed minutes
 *                                        ▼
 *                            node_rollup_1m / pod_rollup_1m (30 d) + metrics_dirty_hours
 *                                        │ completed dirty hours
 *                                        ▼
 *                            node_rollup_1h / pod_rollup_1h (365 d)
 *
 * Raw tables: a BRIN index on `at` (rows arrive in time order, so it stays a few pages and serves retention and
 * "the last minutes" scans) and one unique btree per series key ending in `at`, which answers series queries and
 * makes a sample stored twice (an agent resending a frame) a no-op (`on conflict do nothing`).
 */

/** Every table of the metrics part: not read models; a replay keeps their rows. */
export const METRICS_TABLES = [
  'node_samples',
  'pod_samples',
  'node_rollup_1m',
  'node_rollup_1h',
  'pod_rollup_1m',
  'pod_rollup_1h',
  'metrics_dirty_minutes',
  'metrics_dirty_hours',
  'metrics_counters',
] as const;

type Timestamp = Date;

export type NodeSamplesTable = {
  node_id: string;
  at: Timestamp;
  cpu_percent: number;
  memory_used_bytes: number;
  memory_total_bytes: number;
  swap_used_bytes: number;
  load1: number;
  /** Bytes per second, summed over the node's interfaces (and disks, for disk_*). */
  net_rx: number;
  net_tx: number;
  disk_read: number;
  disk_write: number;
  /** The fullest mount's used fraction (0–1); null when the node reported no disk. */
  disk_used_ratio: number | null;
};

export type PodSamplesTable = {
  node_id: string;
  tenant_id: string;
  pod_id: string;
  container_id: string;
  at: Timestamp;
  cpu_percent: number;
  memory_bytes: number;
  memory_limit_bytes: number | null;
  net_rx: number;
  net_tx: number;
  blk_read: number;
  blk_write: number;
  restarts: number;
};

/** One bucket of a node: averages over its samples, and maxima of CPU and memory. */
export type NodeRollupTable = {
  node_id: string;
  bucket: Timestamp;
  /** Raw samples the bucket averages: the weight when buckets are rolled up further. */
  samples: number;
  cpu_percent_avg: number;
  cpu_percent_max: number;
  memory_used_bytes_avg: number;
  memory_used_bytes_max: number;
  memory_total_bytes: number;
  swap_used_bytes_avg: number;
  load1_avg: number;
  net_rx_avg: number;
  net_tx_avg: number;
  disk_read_avg: number;
  disk_write_avg: number;
  disk_used_ratio_avg: number | null;
};

/** One bucket of a pod on one node; the pod's containers at one instant are summed first. */
export type PodRollupTable = {
  tenant_id: string;
  pod_id: string;
  node_id: string;
  bucket: Timestamp;
  samples: number;
  cpu_percent_avg: number;
  cpu_percent_max: number;
  memory_bytes_avg: number;
  memory_bytes_max: number;
  memory_limit_bytes: number | null;
  net_rx_avg: number;
  net_tx_avg: number;
  blk_read_avg: number;
  blk_write_avg: number;
  restarts_max: number;
};

export type MetricsTables = {
  node_samples: NodeSamplesTable;
  pod_samples: PodSamplesTable;
  node_rollup_1m: NodeRollupTable;
  node_rollup_1h: NodeRollupTable;
  pod_rollup_1m: PodRollupTable;
  pod_rollup_1h: PodRollupTable;
  /** Minutes with raw samples not yet (or not since their latest sample) rolled up. */
  metrics_dirty_minutes: { minute: Timestamp };
  /** Hours whose 1-minute buckets changed since they were last rolled up. */
  metrics_dirty_hours: { hour: Timestamp };
  /** Totals of the ingesters of every replica: stored rows, dropped messages by reason. */
  metrics_counters: { name: string; value: number };
};

const nodeRollupColumns = [
  'cpu_percent_avg',
  'cpu_percent_max',
  'memory_used_bytes_avg',
  'memory_used_bytes_max',
  'memory_total_bytes',
  'swap_used_bytes_avg',
  'load1_avg',
  'net_rx_avg',
  'net_tx_avg',
  'disk_read_avg',
  'disk_write_avg',
] as const;

const podRollupColumns = [
  'cpu_percent_avg',
  'cpu_percent_max',
  'memory_bytes_avg',
  'memory_bytes_max',
  'net_rx_avg',
  'net_tx_avg',
  'blk_read_avg',
  'blk_write_avg',
] as const;

/** The `0002_metrics` migration. */
export async function createMetricsTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('node_samples')
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('cpu_percent', 'real', (c) => c.notNull())
    .addColumn('memory_used_bytes', 'bigint', (c) => c.notNull())
    .addColumn('memory_total_bytes', 'bigint', (c) => c.notNull())
    .addColumn('swap_used_bytes', 'bigint', (c) => c.notNull())
    .addColumn('load1', 'real', (c) => c.notNull())
    .addColumn('net_rx', 'real', (c) => c.notNull())
    .addColumn('net_tx', 'real', (c) => c.notNull())
    .addColumn('disk_read', 'real', (c) => c.notNull())
    .addColumn('disk_write', 'real', (c) => c.notNull())
    .addColumn('disk_used_ratio', 'real')
    .execute();
  await db.schema.createIndex('node_samples_key').unique().on('node_samples').columns(['node_id', 'at']).execute();
  await db.schema.createIndex('node_samples_at').on('node_samples').using('brin').column('at').execute();

  await db.schema
    .createTable('pod_samples')
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('pod_id', 'text', (c) => c.notNull())
    .addColumn('container_id', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .addColumn('cpu_percent', 'real', (c) => c.notNull())
    .addColumn('memory_bytes', 'bigint', (c) => c.notNull())
    .addColumn('memory_limit_bytes', 'bigint')
    .addColumn('net_rx', 'real', (c) => c.notNull())
    .addColumn('net_tx', 'real', (c) => c.notNull())
    .addColumn('blk_read', 'real', (c) => c.notNull())
    .addColumn('blk_write', 'real', (c) => c.notNull())
    .addColumn('restarts', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('pod_samples_key')
    .unique()
    .on('pod_samples')
    .columns(['tenant_id', 'pod_id', 'node_id', 'at', 'container_id'])
    .execute();
  await db.schema.createIndex('pod_samples_at').on('pod_samples').using('brin').column('at').execute();

  for (const table of ['node_rollup_1m', 'node_rollup_1h']) {
    let builder = db.schema
      .createTable(table)
      .addColumn('node_id', 'text', (c) => c.notNull())
      .addColumn('bucket', 'timestamptz', (c) => c.notNull())
      .addColumn('samples', 'integer', (c) => c.notNull());
    for (const column of nodeRollupColumns) builder = builder.addColumn(column, 'float8', (c) => c.notNull());
    await builder
      .addColumn('disk_used_ratio_avg', 'float8')
      .addPrimaryKeyConstraint(`${table}_pk`, ['node_id', 'bucket'])
      .execute();
    await db.schema.createIndex(`${table}_bucket`).on(table).using('brin').column('bucket').execute();
  }
  for (const table of ['pod_rollup_1m', 'pod_rollup_1h']) {
    let builder = db.schema
      .createTable(table)
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('pod_id', 'text', (c) => c.notNull())
      .addColumn('node_id', 'text', (c) => c.notNull())
      .addColumn('bucket', 'timestamptz', (c) => c.notNull())
      .addColumn('samples', 'integer', (c) => c.notNull());
    for (const column of podRollupColumns) builder = builder.addColumn(column, 'float8', (c) => c.notNull());
    await builder
      .addColumn('memory_limit_bytes', 'float8')
      .addColumn('restarts_max', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, ['tenant_id', 'pod_id', 'node_id', 'bucket'])
      .execute();
    await db.schema.createIndex(`${table}_bucket`).on(table).using('brin').column('bucket').execute();
  }

  await db.schema
    .createTable('metrics_dirty_minutes')
    .addColumn('minute', 'timestamptz', (c) => c.primaryKey())
    .execute();
  await db.schema
    .createTable('metrics_dirty_hours')
    .addColumn('hour', 'timestamptz', (c) => c.primaryKey())
    .execute();
  await db.schema
    .createTable('metrics_counters')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'bigint', (c) => c.notNull().defaultTo(sql`0`))
    .execute();
}
