import type { SeriesPoint, TopRow } from '@agentpod/contracts';
import type { Sql } from '@agentpod/kit';
import { BUCKET_ORIGIN, RAW_BUCKET_SECONDS, rawStepSeconds, type SeriesWindow } from './time.ts';

/*
 * Reading series and the latest samples. A point exists only for a bucket that has samples: a node that was off
 * for an hour shows a gap, never zeros. Raw series are averaged into 10-second buckets; roll-ups are read as
 * stored. A pod's containers at one instant are summed (during a recreation it briefly has two).
 */

type PointRow = {
  bucket: Date;
  cpu_avg: number;
  cpu_max: number;
  memory_avg: number;
  memory_max: number;
  memory_limit: number | null;
  rx: number;
  tx: number;
  read: number;
  write: number;
  disk_used_ratio: number | null;
};

const toPoint = (row: PointRow): SeriesPoint => ({
  at: row.bucket.toISOString(),
  cpuPercent: row.cpu_avg,
  cpuPercentMax: row.cpu_max,
  memoryBytes: row.memory_avg,
  memoryBytesMax: row.memory_max,
  memoryLimitBytes: row.memory_limit,
  netRxBytesPerSec: row.rx,
  netTxBytesPerSec: row.tx,
  diskReadBytesPerSec: row.read,
  diskWriteBytesPerSec: row.write,
  diskUsedRatio: row.disk_used_ratio,
});

export type SeriesResult = { points: SeriesPoint[]; stepSeconds: number };

const finish = (rows: PointRow[], window: SeriesWindow): SeriesResult => ({
  points: rows.map(toPoint),
  stepSeconds:
    window.resolution === 'raw' ? rawStepSeconds(rows.map((row) => row.bucket.getTime())) : window.stepSeconds,
});

const rawBucket = `${RAW_BUCKET_SECONDS} seconds`;

export async function nodeSeries(sql: Sql, nodeId: string, window: SeriesWindow): Promise<SeriesResult> {
  const { from, to } = window;
  if (window.resolution === 'raw') {
    const rows = await sql<PointRow[]>`
      select date_bin(${rawBucket}::interval, at, ${BUCKET_ORIGIN}::timestamptz) as bucket,
        avg(cpu_percent)::float8 as cpu_avg, max(cpu_percent)::float8 as cpu_max,
        avg(memory_used_bytes)::float8 as memory_avg, max(memory_used_bytes)::float8 as memory_max,
        max(memory_total_bytes)::float8 as memory_limit, avg(net_rx)::float8 as rx, avg(net_tx)::float8 as tx,
        avg(disk_read)::float8 as read, avg(disk_write)::float8 as write, avg(disk_used_ratio)::float8 as disk_used_ratio
      from node_samples where node_id = ${nodeId} and at >= ${from} and at <= ${to}
      group by 1 order by 1`;
    return finish(rows, window);
  }
  const table = window.resolution === '1m' ? 'node_rollup_1m' : 'node_rollup_1h';
  const rows = await sql<PointRow[]>`
    select bucket, cpu_percent_avg as cpu_avg, cpu_percent_max as cpu_max, memory_used_bytes_avg as memory_avg,
      memory_used_bytes_max as memory_max, memory_total_bytes as memory_limit, net_rx_avg as rx, net_tx_avg as tx,
      disk_read_avg as read, disk_write_avg as write, disk_used_ratio_avg as disk_used_ratio
    from ${sql(table)} where node_id = ${nodeId} and bucket >= ${from} and bucket <= ${to}
    order by bucket`;
  return finish(rows, window);
}

export async function podSeries(
  sql: Sql,
  pod: { tenantId: string; podId: string; nodeId: string },
  window: SeriesWindow,
): Promise<SeriesResult> {
  const { from, to } = window;
  const { tenantId, podId, nodeId } = pod;
  if (window.resolution === 'raw') {
    const rows = await sql<PointRow[]>`
      select date_bin(${rawBucket}::interval, at, ${BUCKET_ORIGIN}::timestamptz) as bucket,
        avg(cpu)::float8 as cpu_avg, max(cpu)::float8 as cpu_max, avg(memory)::float8 as memory_avg,
        max(memory)::float8 as memory_max, max(memory_limit)::float8 as memory_limit, avg(rx)::float8 as rx,
        avg(tx)::float8 as tx, avg(br)::float8 as read, avg(bw)::float8 as write, null::float8 as disk_used_ratio
      from (
        select at, sum(cpu_percent) as cpu, sum(memory_bytes) as memory, max(memory_limit_bytes) as memory_limit,
          sum(net_rx) as rx, sum(net_tx) as tx, sum(blk_read) as br, sum(blk_write) as bw
        from pod_samples
        where tenant_id = ${tenantId} and pod_id = ${podId} and node_id = ${nodeId} and at >= ${from} and at <= ${to}
        group by at
      ) as instants
      group by 1 order by 1`;
    return finish(rows, window);
  }
  const table = window.resolution === '1m' ? 'pod_rollup_1m' : 'pod_rollup_1h';
  const rows = await sql<PointRow[]>`
    select bucket, cpu_percent_avg as cpu_avg, cpu_percent_max as cpu_max, memory_bytes_avg as memory_avg,
      memory_bytes_max as memory_max, memory_limit_bytes as memory_limit, net_rx_avg as rx, net_tx_avg as tx,
      blk_read_avg as read, blk_write_avg as write, null::float8 as disk_used_ratio
    from ${sql(table)}
    where tenant_id = ${tenantId} and pod_id = ${podId} and node_id = ${nodeId} and bucket >= ${from} and bucket <= ${to}
    order by bucket`;
  return finish(rows, window);
}

/** How recent a sample must be to show in `top`: a pod or node silent for longer is not running there. */
export const TOP_WINDOW_MS = 5 * 60_000;

type TopSqlRow = {
  node_id: string;
  tenant_id: string | null;
  pod_id: string | null;
  at: Date;
  cpu: number;
  memory: number;
  memory_limit: number | null;
  rx: number;
  tx: number;
};

const toTopRow = (kind: 'node' | 'pod', row: TopSqlRow): TopRow => ({
  kind,
  nodeId: row.node_id,
  tenantId: row.tenant_id,
  podId: row.pod_id,
  at: row.at.toISOString(),
  cpuPercent: row.cpu,
  memoryBytes: row.memory,
  memoryLimitBytes: row.memory_limit,
  netRxBytesPerSec: row.rx,
  netTxBytesPerSec: row.tx,
});

/** The latest instant of each pod (per node it reported from) of `tenants`, within TOP_WINDOW_MS of `now`. */
export async function latestPods(sql: Sql, tenants: 'all' | readonly string[], now: Date): Promise<TopRow[]> {
  if (tenants !== 'all' && tenants.length === 0) return [];
  const since = new Date(now.getTime() - TOP_WINDOW_MS);
  const rows = await sql<TopSqlRow[]>`
    select distinct on (tenant_id, pod_id, node_id) tenant_id, pod_id, node_id, at, cpu, memory, memory_limit, rx, tx
    from (
      select tenant_id, pod_id, node_id, at, sum(cpu_percent)::float8 as cpu, sum(memory_bytes)::float8 as memory,
        max(memory_limit_bytes)::float8 as memory_limit, sum(net_rx)::float8 as rx, sum(net_tx)::float8 as tx
      from pod_samples
      where at > ${since}
        ${tenants === 'all' ? sql`` : sql`and tenant_id = any(${[...tenants]}::text[])`}
      group by 1, 2, 3, 4
    ) as instants
    order by tenant_id, pod_id, node_id, at desc`;
  return rows.map((row) => toTopRow('pod', row));
}

/** The latest sample of every node within TOP_WINDOW_MS of `now`. */
export async function latestNodes(sql: Sql, now: Date): Promise<TopRow[]> {
  const since = new Date(now.getTime() - TOP_WINDOW_MS);
  const rows = await sql<TopSqlRow[]>`
    select distinct on (node_id) node_id, null as tenant_id, null as pod_id, at, cpu_percent::float8 as cpu,
      memory_used_bytes::float8 as memory, memory_total_bytes::float8 as memory_limit, net_rx::float8 as rx,
      net_tx::float8 as tx
    from node_samples where at > ${since}
    order by node_id, at desc`;
  return rows.map((row) => toTopRow('node', row));
}
