import type { Sql } from '@agentpod/kit';
import type { NodeSampleRow, PodSampleRow } from './decode.ts';
import { distinctBuckets, MINUTE_MS } from './time.ts';

/*
 * One flush of the ingester, in one transaction: the raw rows (one multi-row INSERT per table, as arrays through
 * unnest: one statement and 13 parameters whatever the row count), the minutes they touch marked dirty for the
 * roll-up, and the counters moved by what this replica stored and dropped since its last flush. A row already
 * stored (the same node, container and time: an agent resending a frame) is skipped, not counted.
 *
 * Locks are taken in one order by every writer (dirty minutes ascending, then counters by name), so two replicas
 * flushing at once wait for each other instead of deadlocking.
 */

export type Flush = {
  nodes: readonly NodeSampleRow[];
  pods: readonly PodSampleRow[];
  /** Counter deltas besides `stored` (dropped messages by reason). */
  counters: ReadonlyMap<string, number>;
};

/** The counter of rows stored; dropped messages are `dropped.<reason>`. */
export const STORED_COUNTER = 'stored';
export const droppedCounter = (reason: string): string => `dropped.${reason}`;

const column = <R, K extends keyof R>(rows: readonly R[], key: K): R[K][] => rows.map((row) => row[key]);

/** Writes one flush; returns how many rows were new. */
export async function writeFlush(sql: Sql, flush: Flush): Promise<number> {
  const { nodes, pods } = flush;
  return sql.begin(async (tx) => {
    let stored = 0;
    if (nodes.length > 0) {
      const result = await tx`
        insert into node_samples (node_id, at, cpu_percent, memory_used_bytes, memory_total_bytes, swap_used_bytes,
          load1, net_rx, net_tx, disk_read, disk_write, disk_used_ratio)
        select * from unnest(
          ${column(nodes, 'node_id')}::text[], ${column(nodes, 'at')}::timestamptz[],
          ${column(nodes, 'cpu_percent')}::real[], ${column(nodes, 'memory_used_bytes')}::bigint[],
          ${column(nodes, 'memory_total_bytes')}::bigint[], ${column(nodes, 'swap_used_bytes')}::bigint[],
          ${column(nodes, 'load1')}::real[], ${column(nodes, 'net_rx')}::real[], ${column(nodes, 'net_tx')}::real[],
          ${column(nodes, 'disk_read')}::real[], ${column(nodes, 'disk_write')}::real[],
          ${column(nodes, 'disk_used_ratio')}::real[])
        on conflict do nothing`;
      stored += result.count;
    }
    if (pods.length > 0) {
      const result = await tx`
        insert into pod_samples (node_id, tenant_id, pod_id, container_id, at, cpu_percent, memory_bytes,
          memory_limit_bytes, net_rx, net_tx, blk_read, blk_write, restarts)
        select * from unnest(
          ${column(pods, 'node_id')}::text[], ${column(pods, 'tenant_id')}::text[], ${column(pods, 'pod_id')}::text[],
          ${column(pods, 'container_id')}::text[], ${column(pods, 'at')}::timestamptz[],
          ${column(pods, 'cpu_percent')}::real[], ${column(pods, 'memory_bytes')}::bigint[],
          ${column(pods, 'memory_limit_bytes')}::bigint[], ${column(pods, 'net_rx')}::real[],
          ${column(pods, 'net_tx')}::real[], ${column(pods, 'blk_read')}::real[], ${column(pods, 'blk_write')}::real[],
          ${column(pods, 'restarts')}::integer[])
        on conflict do nothing`;
      stored += result.count;
    }
    const minutes = distinctBuckets([...nodes.map((row) => row.at), ...pods.map((row) => row.at)], MINUTE_MS);
    if (minutes.length > 0) {
      await tx`
        insert into metrics_dirty_minutes (minute)
        select * from unnest(${minutes}::timestamptz[])
        on conflict do nothing`;
    }
    const counters = new Map(flush.counters);
    if (stored > 0) counters.set(STORED_COUNTER, (counters.get(STORED_COUNTER) ?? 0) + stored);
    const names = [...counters.keys()].filter((name) => (counters.get(name) ?? 0) > 0).sort();
    if (names.length > 0) {
      await tx`
        insert into metrics_counters (name, value)
        select * from unnest(${names}::text[], ${names.map((name) => counters.get(name) ?? 0)}::bigint[])
        on conflict (name) do update set value = metrics_counters.value + excluded.value`;
    }
    return stored;
  });
}

/** The totals across replicas: rows stored, and dropped messages by reason. */
export async function readCounters(
  sql: Sql,
): Promise<{ storedSamples: number; droppedMessages: Record<string, number> }> {
  const rows = await sql<{ name: string; value: number }[]>`select name, value from metrics_counters order by name`;
  const droppedMessages: Record<string, number> = {};
  let storedSamples = 0;
  for (const { name, value } of rows) {
    if (name === STORED_COUNTER) storedSamples = Number(value);
    else if (name.startsWith('dropped.')) droppedMessages[name.slice('dropped.'.length)] = Number(value);
  }
  return { storedSamples, droppedMessages };
}
