import type { Sql } from '@agentpod/kit';
import {
  BUCKET_ORIGIN,
  lastCompleteHour,
  lastCompleteMinute,
  oldestRollableHour,
  oldestRollableMinute,
  retentionCutoffs,
} from './time.ts';

/*
 * Roll-ups and retention, one pass (`rollUpAndExpire`), run every minute by one replica (metrics/rollup-job.ts).
 *
 * The ingester marks every minute it writes samples for as dirty, in the same transaction. A pass takes the
 * dirty minutes that are complete, recomputes each from the raw rows, and upserts the result (overwriting, never
 * adding: running a pass twice, or a minute twice, gives the same rows), marking the minute's hour dirty; then
 * the same from 1-minute to 1-hour buckets for complete dirty hours. Taking a dirty mark and writing its roll-up
 * are one transaction, so a crash in between leaves the mark for the next pass; a sample arriving after its
 * minute was rolled up marks it again. Then expired rows are deleted, a few thousand per statement.
 *
 * The pod's containers at one instant are summed first (a recreated pod briefly has two), then averaged over the
 * bucket. Hourly averages are weighted by the samples behind each minute, so they equal the raw average.
 */

const ORIGIN = BUCKET_ORIGIN;
/** Dirty buckets handled per transaction. */
const BUCKETS_PER_TX = 120;
/** Rows deleted per statement, and statements per table per pass (the rest waits for the next pass). */
export const DELETE_CHUNK = 5_000;
const DELETE_CHUNKS_PER_PASS = 200;

export type PassReport = { minutes: number; hours: number; deleted: Record<string, number> };

export async function rollUpAndExpire(sql: Sql, now: Date): Promise<PassReport> {
  const minutes = await rollUpMinutes(sql, now);
  const hours = await rollUpHours(sql, now);
  const deleted = await expire(sql, now);
  return { minutes, hours, deleted };
}

/** Complete dirty minutes → node_rollup_1m / pod_rollup_1m; returns how many minutes were rolled up. */
export function rollUpMinutes(sql: Sql, now: Date): Promise<number> {
  const marks = {
    table: 'metrics_dirty_minutes',
    column: 'minute',
    widthMs: 60_000,
    oldest: oldestRollableMinute(now),
    lastComplete: lastCompleteMinute(now),
  };
  return drainDirty(sql, marks, async (tx, { buckets: minutes, lo, hi }) => {
    await tx`
      insert into node_rollup_1m (node_id, bucket, samples, cpu_percent_avg, cpu_percent_max, memory_used_bytes_avg,
        memory_used_bytes_max, memory_total_bytes, swap_used_bytes_avg, load1_avg, net_rx_avg, net_tx_avg,
        disk_read_avg, disk_write_avg, disk_used_ratio_avg)
      select node_id, date_bin('1 minute', at, ${ORIGIN}::timestamptz) as bucket, count(*),
        avg(cpu_percent), max(cpu_percent), avg(memory_used_bytes), max(memory_used_bytes), max(memory_total_bytes),
        avg(swap_used_bytes), avg(load1), avg(net_rx), avg(net_tx), avg(disk_read), avg(disk_write),
        avg(disk_used_ratio)
      from node_samples
      where at >= ${lo}::timestamptz and at < ${hi}
        and date_bin('1 minute', at, ${ORIGIN}::timestamptz) = any(${minutes}::timestamptz[])
      group by 1, 2
      on conflict (node_id, bucket) do update set samples = excluded.samples,
        cpu_percent_avg = excluded.cpu_percent_avg, cpu_percent_max = excluded.cpu_percent_max,
        memory_used_bytes_avg = excluded.memory_used_bytes_avg, memory_used_bytes_max = excluded.memory_used_bytes_max,
        memory_total_bytes = excluded.memory_total_bytes, swap_used_bytes_avg = excluded.swap_used_bytes_avg,
        load1_avg = excluded.load1_avg, net_rx_avg = excluded.net_rx_avg, net_tx_avg = excluded.net_tx_avg,
        disk_read_avg = excluded.disk_read_avg, disk_write_avg = excluded.disk_write_avg,
        disk_used_ratio_avg = excluded.disk_used_ratio_avg`;
    await tx`
      insert into pod_rollup_1m (tenant_id, pod_id, node_id, bucket, samples, cpu_percent_avg, cpu_percent_max,
        memory_bytes_avg, memory_bytes_max, memory_limit_bytes, net_rx_avg, net_tx_avg, blk_read_avg, blk_write_avg,
        restarts_max)
      select tenant_id, pod_id, node_id, date_bin('1 minute', at, ${ORIGIN}::timestamptz) as bucket, count(*),
        avg(cpu), max(cpu), avg(memory), max(memory), max(memory_limit), avg(rx), avg(tx), avg(br), avg(bw),
        max(restarts)
      from (
        select tenant_id, pod_id, node_id, at, sum(cpu_percent) as cpu, sum(memory_bytes) as memory,
          max(memory_limit_bytes) as memory_limit, sum(net_rx) as rx, sum(net_tx) as tx, sum(blk_read) as br,
          sum(blk_write) as bw, max(restarts) as restarts
        from pod_samples
        where at >= ${lo}::timestamptz and at < ${hi}
          and date_bin('1 minute', at, ${ORIGIN}::timestamptz) = any(${minutes}::timestamptz[])
        group by 1, 2, 3, 4
      ) as instants
      group by 1, 2, 3, 4
      on conflict (tenant_id, pod_id, node_id, bucket) do update set samples = excluded.samples,
        cpu_percent_avg = excluded.cpu_percent_avg, cpu_percent_max = excluded.cpu_percent_max,
        memory_bytes_avg = excluded.memory_bytes_avg, memory_bytes_max = excluded.memory_bytes_max,
        memory_limit_bytes = excluded.memory_limit_bytes, net_rx_avg = excluded.net_rx_avg,
        net_tx_avg = excluded.net_tx_avg, blk_read_avg = excluded.blk_read_avg, blk_write_avg = excluded.blk_write_avg,
        restarts_max = excluded.restarts_max`;
    await tx`
      insert into metrics_dirty_hours (hour)
      select distinct date_bin('1 hour', minute, ${ORIGIN}::timestamptz) from unnest(${minutes}::timestamptz[]) as m(minute)
      order by 1
      on conflict do nothing`;
  });
}

/** Complete dirty hours → node_rollup_1h / pod_rollup_1h; returns how many hours were rolled up. */
export function rollUpHours(sql: Sql, now: Date): Promise<number> {
  const marks = {
    table: 'metrics_dirty_hours',
    column: 'hour',
    widthMs: 3_600_000,
    oldest: oldestRollableHour(now),
    lastComplete: lastCompleteHour(now),
  };
  return drainDirty(sql, marks, async (tx, { buckets: hours, lo, hi }) => {
    // Weighted by samples, so an hour's average is the average of its raw samples.
    const weighted = (column: string) => tx`sum(${tx(column)} * samples) / sum(samples)`;
    const inHours = tx`bucket >= ${lo}::timestamptz and bucket < ${hi}
      and date_bin('1 hour', bucket, ${ORIGIN}::timestamptz) = any(${hours}::timestamptz[])`;
    await tx`
      insert into node_rollup_1h (node_id, bucket, samples, cpu_percent_avg, cpu_percent_max, memory_used_bytes_avg,
        memory_used_bytes_max, memory_total_bytes, swap_used_bytes_avg, load1_avg, net_rx_avg, net_tx_avg,
        disk_read_avg, disk_write_avg, disk_used_ratio_avg)
      select node_id, date_bin('1 hour', bucket, ${ORIGIN}::timestamptz), sum(samples),
        ${weighted('cpu_percent_avg')}, max(cpu_percent_max),
        ${weighted('memory_used_bytes_avg')}, max(memory_used_bytes_max), max(memory_total_bytes),
        ${weighted('swap_used_bytes_avg')}, ${weighted('load1_avg')},
        ${weighted('net_rx_avg')}, ${weighted('net_tx_avg')},
        ${weighted('disk_read_avg')}, ${weighted('disk_write_avg')},
        sum(disk_used_ratio_avg * samples) / nullif(sum(samples) filter (where disk_used_ratio_avg is not null), 0)
      from node_rollup_1m where ${inHours}
      group by 1, 2
      on conflict (node_id, bucket) do update set samples = excluded.samples,
        cpu_percent_avg = excluded.cpu_percent_avg, cpu_percent_max = excluded.cpu_percent_max,
        memory_used_bytes_avg = excluded.memory_used_bytes_avg, memory_used_bytes_max = excluded.memory_used_bytes_max,
        memory_total_bytes = excluded.memory_total_bytes, swap_used_bytes_avg = excluded.swap_used_bytes_avg,
        load1_avg = excluded.load1_avg, net_rx_avg = excluded.net_rx_avg, net_tx_avg = excluded.net_tx_avg,
        disk_read_avg = excluded.disk_read_avg, disk_write_avg = excluded.disk_write_avg,
        disk_used_ratio_avg = excluded.disk_used_ratio_avg`;
    await tx`
      insert into pod_rollup_1h (tenant_id, pod_id, node_id, bucket, samples, cpu_percent_avg, cpu_percent_max,
        memory_bytes_avg, memory_bytes_max, memory_limit_bytes, net_rx_avg, net_tx_avg, blk_read_avg, blk_write_avg,
        restarts_max)
      select tenant_id, pod_id, node_id, date_bin('1 hour', bucket, ${ORIGIN}::timestamptz), sum(samples),
        ${weighted('cpu_percent_avg')}, max(cpu_percent_max),
        ${weighted('memory_bytes_avg')}, max(memory_bytes_max), max(memory_limit_bytes),
        ${weighted('net_rx_avg')}, ${weighted('net_tx_avg')},
        ${weighted('blk_read_avg')}, ${weighted('blk_write_avg')}, max(restarts_max)
      from pod_rollup_1m where ${inHours}
      group by 1, 2, 3, 4
      on conflict (tenant_id, pod_id, node_id, bucket) do update set samples = excluded.samples,
        cpu_percent_avg = excluded.cpu_percent_avg, cpu_percent_max = excluded.cpu_percent_max,
        memory_bytes_avg = excluded.memory_bytes_avg, memory_bytes_max = excluded.memory_bytes_max,
        memory_limit_bytes = excluded.memory_limit_bytes, net_rx_avg = excluded.net_rx_avg,
        net_tx_avg = excluded.net_tx_avg, blk_read_avg = excluded.blk_read_avg, blk_write_avg = excluded.blk_write_avg,
        restarts_max = excluded.restarts_max`;
  });
}

type Tx = Parameters<Parameters<Sql['begin']>[1]>[0];

/** A table of dirty marks (`metrics_dirty_minutes` or `metrics_dirty_hours`) and the buckets it may hand out. */
type DirtyMarks = {
  table: string;
  column: string;
  widthMs: number;
  /** Marks before this are dropped: too old to roll up safely (their source rows are being deleted). */
  oldest: Date;
  /** The last complete bucket: later marks wait for their bucket to end. */
  lastComplete: Date;
};

/**
 * Takes the complete dirty marks, BUCKETS_PER_TX at a time, each batch in the transaction that rolls it up
 * (`rollUp` is given the buckets sorted, and the time range `[lo, hi)` they cover); returns how many were taken.
 */
async function drainDirty(
  sql: Sql,
  marks: DirtyMarks,
  rollUp: (tx: Tx, batch: { buckets: string[]; lo: string; hi: Date }) => Promise<void>,
): Promise<number> {
  const table = sql(marks.table);
  const column = sql(marks.column);
  await sql`delete from ${table} where ${column} < ${marks.oldest}`;
  let total = 0;
  for (;;) {
    const count = await sql.begin(async (tx) => {
      const taken = await tx<{ bucket: Date }[]>`
        delete from ${table} where ${column} in (
          select ${column} from ${table} where ${column} <= ${marks.lastComplete}
          order by ${column} limit ${BUCKETS_PER_TX} for update skip locked)
        returning ${column} as bucket`;
      if (taken.length === 0) return 0;
      const buckets = taken.map((row) => row.bucket.toISOString()).sort();
      const lo = buckets[0] as string;
      const hi = new Date(Date.parse(buckets.at(-1) as string) + marks.widthMs);
      await rollUp(tx, { buckets, lo, hi });
      return taken.length;
    });
    total += count;
    if (count < BUCKETS_PER_TX) return total;
  }
}

const EXPIRING: readonly [table: string, column: string, tier: 'raw' | '1m' | '1h'][] = [
  ['node_samples', 'at', 'raw'],
  ['pod_samples', 'at', 'raw'],
  ['node_rollup_1m', 'bucket', '1m'],
  ['pod_rollup_1m', 'bucket', '1m'],
  ['node_rollup_1h', 'bucket', '1h'],
  ['pod_rollup_1h', 'bucket', '1h'],
];

/**
 * Deletes what is past retention, DELETE_CHUNK rows per statement (each its own short transaction: no long lock,
 * no burst of WAL), at most DELETE_CHUNKS_PER_PASS statements per table per pass.
 */
export async function expire(sql: Sql, now: Date): Promise<Record<string, number>> {
  const cutoffs = retentionCutoffs(now);
  const deleted: Record<string, number> = {};
  for (const [table, column, tier] of EXPIRING) {
    deleted[table] = 0;
    for (let chunk = 0; chunk < DELETE_CHUNKS_PER_PASS; chunk++) {
      const result = await sql`
        delete from ${sql(table)} where ctid = any(array(
          select ctid from ${sql(table)} where ${sql(column)} < ${cutoffs[tier]} limit ${DELETE_CHUNK}))`;
      deleted[table] += result.count;
      if (result.count < DELETE_CHUNK) break;
    }
  }
  return deleted;
}
